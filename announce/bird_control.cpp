#include "announce/bird_control.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace vigil::announce {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

struct bird_control::request {
    request(asio::any_io_executor executor, std::string command, done_handler handler)
        : socket(std::move(executor)), line(std::move(command)), done(std::move(handler)) {}
    stream::socket socket;
    std::string line;
    done_handler done;
    bird_reply_parser parser;
    bool banner_seen = false;
    bool finished = false;
    std::array<char, 4096> buffer{};
};

bird_control::bird_control(asio::any_io_executor executor, clock_source& clock, std::string socket,
                           std::chrono::milliseconds timeout)
    : executor_(std::move(executor)),
      clock_(clock),
      socket_(std::move(socket)),
      timeout_(timeout),
      timer_(clock.make_timer()) {}

bird_control::~bird_control() {
    alive_.reset();
    timer_->cancel();
    if (running_) {
        boost::system::error_code ignored;
        running_->socket.close(ignored);
    }
}

void bird_control::command(std::string line, done_handler done) {
    queue_.emplace_back(std::move(line), std::move(done));
    if (!running_) {
        // Never answer from inside command(): start on a later turn.
        asio::post(executor_, [this, alive = std::weak_ptr<int>(alive_)] {
            if (alive.lock() && !running_) {
                start_next();
            }
        });
    }
}

void bird_control::start_next() {
    if (queue_.empty()) {
        return;
    }
    auto [line, done] = std::move(queue_.front());
    queue_.pop_front();
    auto r = std::make_shared<request>(executor_, std::move(line), std::move(done));
    running_ = r;
    // One deadline for the whole exchange: BIRD answers `configure` within milliseconds unless
    // it is stuck, and a stuck BIRD must not hold the next command forever.
    timer_->arm(clock_.now() + timeout_, [this, r] {
        finish(r, "no answer within " + std::to_string(timeout_.count()) + " ms");
    });
    r->socket.async_connect(
        stream::endpoint(socket_),
        [this, r, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
            if (!alive.lock() || r->finished) {
                return;
            }
            if (ec) {
                finish(r, "connect " + socket_ + ": " + ec.message());
                return;
            }
            read_more(r);
        });
}

void bird_control::read_more(const std::shared_ptr<request>& r) {
    r->socket.async_read_some(
        asio::buffer(r->buffer), [this, r, alive = std::weak_ptr<int>(alive_)](
                                     const boost::system::error_code& ec, std::size_t n) {
            if (!alive.lock() || r->finished) {
                return;
            }
            if (ec) {
                finish(r, ec == asio::error::eof ? "BIRD closed the connection"
                                                 : "read: " + ec.message());
                return;
            }
            r->parser.feed(std::string_view(r->buffer.data(), n));
            if (r->parser.failure()) {
                finish(r, "malformed reply: " + *r->parser.failure());
                return;
            }
            while (auto reply = r->parser.next()) {
                if (!r->banner_seen) {
                    if (reply->code != 1 && reply->code != 0) {
                        finish(r, "unexpected banner: " + reply->message());
                        return;
                    }
                    r->banner_seen = true;
                    auto line = std::make_shared<std::string>(r->line + "\n");
                    asio::async_write(r->socket, asio::buffer(*line),
                                      [this, r, line, alive = std::weak_ptr<int>(alive_)](
                                          const boost::system::error_code& wec, std::size_t) {
                                          if (!alive.lock() || r->finished) {
                                              return;
                                          }
                                          if (wec) {
                                              finish(r, "write: " + wec.message());
                                          }
                                      });
                    continue;
                }
                finish(r, std::move(*reply));
                return;
            }
            read_more(r);
        });
}

void bird_control::finish(const std::shared_ptr<request>& r, outcome result) {
    if (r->finished) {
        return;
    }
    r->finished = true;
    boost::system::error_code ignored;
    r->socket.close(ignored);
    if (running_ == r) {
        running_.reset();
        timer_->cancel();
    }
    auto done = std::move(r->done);
    std::weak_ptr<int> alive = alive_;
    done(std::move(result));
    if (alive.lock() && !running_) {
        start_next();
    }
}

}  // namespace vigil::announce
