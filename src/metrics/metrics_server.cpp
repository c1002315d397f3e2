#include "metrics/metrics_server.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>

#include "metrics/exposition.hpp"

namespace vigil::metrics {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// What connections share with the server; they may outlive it by the rest of their exchange.
struct metrics_server::shared_state {
    body_builder build;
    std::size_t connections = 0;
};

class metrics_server::connection : public std::enable_shared_from_this<connection> {
  public:
    connection(tcp::socket socket, std::shared_ptr<shared_state> shared)
        : stream_(std::move(socket)), shared_(std::move(shared)) {
        ++shared_->connections;
    }
    ~connection() { --shared_->connections; }

    void read_request() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(max_request_bytes));
        parser_->body_limit(0);
        stream_.expires_after(exchange_deadline);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_request(ec);
                         });
    }

  private:
    void on_request(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == boost::asio::error::operation_aborted) {
            close();
            return;
        }
        if (ec) {
            // Too large, malformed or with a body: say so once, then hang up.
            respond(http::status::bad_request, "text/plain", "bad request\n", false);
            return;
        }
        const auto& request = parser_->get();
        auto target = request.target();
        if (auto query = target.find('?'); query != target.npos) {
            target = target.substr(0, query);
        }
        bool keep_alive = request.keep_alive();
        if (request.method() != http::verb::get && request.method() != http::verb::head) {
            respond(http::status::method_not_allowed, "text/plain", "only GET\n", keep_alive);
        } else if (target == "/metrics") {
            // Copied on this turn from what the engines already hold, written on a worker.
            shared_->build([self = shared_from_this(), keep_alive](rendered_text body) {
                self->respond(http::status::ok, content_type, std::move(body), keep_alive);
            });
        } else if (target == "/healthz") {
            respond(http::status::ok, "text/plain", "ok\n", keep_alive);
        } else {
            respond(http::status::not_found, "text/plain", "not found\n", keep_alive);
        }
    }

    void respond(http::status status, std::string_view type, std::string_view body,
                 bool keep_alive) {
        respond(status, type, std::make_shared<const std::string>(body), keep_alive);
    }

    // The body is shared with other scrapes answered by the same render, and kept until written.
    void respond(http::status status, std::string_view type, rendered_text body, bool keep_alive) {
        bool head =
            parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head;
        body_ = std::move(body);
        response_.emplace(status, 11);
        response_->set(http::field::server, "vigil");
        response_->set(http::field::content_type, type);
        response_->body() = {body_->data(), body_->size()};
        response_->keep_alive(keep_alive);
        response_->prepare_payload();
        if (head) {
            response_->body() = {};  // Content-Length still says what GET would send
        }
        stream_.expires_after(exchange_deadline);
        http::async_write(
            stream_, *response_,
            [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                self->response_.reset();
                self->body_.reset();
                if (ec || !keep_alive) {
                    self->close();
                    return;
                }
                self->read_request();
            });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{max_request_bytes};
    std::optional<http::request_parser<http::empty_body>> parser_;
    std::optional<http::response<http::span_body<const char>>> response_;
    rendered_text body_;
    std::shared_ptr<shared_state> shared_;
};

metrics_server::metrics_server(boost::asio::any_io_executor executor, event_log& log,
                               body_builder build)
    : executor_(executor),
      log_(log),
      shared_(std::make_shared<shared_state>(shared_state{std::move(build), 0})),
      backoff_(executor) {}

metrics_server::~metrics_server() {
    close();
}

std::optional<std::string> metrics_server::listen(const std::optional<ip_endpoint>& endpoint) {
    if (endpoint == endpoint_ && (acceptor_ || !endpoint)) {
        return std::nullopt;
    }
    if (!endpoint) {
        close();
        return std::nullopt;
    }
    auto acceptor = std::make_unique<tcp::acceptor>(executor_);
    tcp::endpoint at(endpoint->address, endpoint->port);
    boost::system::error_code ec;
    acceptor->open(at.protocol(), ec);
    if (!ec) {
        acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec && at.address().is_v6()) {
        acceptor->set_option(boost::asio::ip::v6_only(true), ec);
    }
    if (!ec) {
        acceptor->bind(at, ec);
    }
    if (!ec) {
        acceptor->listen(boost::asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return "metrics listener " + to_string(*endpoint) + ": " + ec.message();
    }
    close();
    acceptor_ = std::move(acceptor);
    endpoint_ = endpoint;
    log_.info("metrics.listening", {{"address", to_string(*endpoint)}});
    accept();
    return std::nullopt;
}

void metrics_server::close() {
    backoff_.cancel();
    if (acceptor_) {
        boost::system::error_code ignored;
        acceptor_->close(ignored);
        // The pending accept's handler holds no pointer to the acceptor; it sees the abort.
        acceptor_.reset();
    }
    endpoint_.reset();
}

std::uint16_t metrics_server::port() const {
    boost::system::error_code ec;
    return acceptor_ ? acceptor_->local_endpoint(ec).port() : 0;
}

void metrics_server::accept() {
    auto* acceptor = acceptor_.get();
    acceptor->async_accept(
        [this, acceptor, shared = shared_](boost::system::error_code ec, tcp::socket socket) {
            if (ec == boost::asio::error::operation_aborted || acceptor != acceptor_.get()) {
                return;  // closed or replaced; `this` may be gone only with the acceptor
            }
            if (ec) {
                // Out of descriptors or similar: back off instead of spinning on the loop.
                backoff_.expires_after(std::chrono::milliseconds(100));
                backoff_.async_wait([this, acceptor](boost::system::error_code wait_ec) {
                    if (!wait_ec && acceptor == acceptor_.get()) {
                        accept();
                    }
                });
                return;
            }
            if (shared->connections >= max_connections) {
                boost::system::error_code ignored;
                socket.close(ignored);
            } else {
                std::make_shared<connection>(std::move(socket), shared)->read_request();
            }
            accept();
        });
}

}  // namespace vigil::metrics
