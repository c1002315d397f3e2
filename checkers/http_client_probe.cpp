#include "checkers/http_client_probe.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <string>

#include "checkers/connect_outcome.hpp"
#include "checkers/http_request.hpp"
#include "checkers/http_response_parser.hpp"
#include "checkers/response_check.hpp"
#include "checkers/source_address.hpp"

namespace vigil::checkers {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Enough for a health endpoint's whole answer in one read, small enough to share.
constexpr std::size_t receive_buffer_size = 64 * 1024;
// Bytes read in one handler before yielding the loop to others; the rest is read in a posted
// continuation (the data is already there, so waiting for readiness again could wait forever
// on an edge-triggered reactor).
constexpr std::size_t read_budget_per_turn = 256 * 1024;

std::string describe_connect(int error) {
    if (error == ECONNREFUSED) {
        return "connection refused";
    }
    return std::string("connect failed: ") + std::strerror(error);
}

std::string describe_transfer(int error) {
    if (error == ECONNRESET || error == EPIPE) {
        return "connection reset";
    }
    return std::string("connection error: ") + std::strerror(error);
}

}  // namespace

http_client_context::http_client_context(asio::any_io_executor executor)
    : executor_(std::move(executor)), receive_buffer_(receive_buffer_size) {}

struct http_client_probe::connection final : http_body_sink,
                                             std::enable_shared_from_this<connection> {
    // One URL of the check: its request bytes and its judge, both made once.
    struct exchange {
        std::string path;
        std::string request;
        response_check judge;
    };

    connection(http_client_context& c, const ip_endpoint& target, const http_spec& o, bool use_tls,
               std::optional<ip_address> bind_to)
        : context(c),
          options(o),
          https(use_tls),
          // HTTP/1.0 has no standard persistent connection (config validation refuses the pair);
          // a spec that asks anyway gets a fresh connection per request.
          reuse(o.reuse_connection && o.version == http_version::http_1_1),
          source(std::move(bind_to)),
          tls_peer(use_tls ? tls_name_for(target, o) : tls_peer_name{}),
          peer(target.address, target.port),
          socket(c.executor()) {
        for (auto& url : urls_of(o)) {
            auto bytes = build_http_request(target, o, url, reuse, use_tls);
            exchanges.push_back(
                exchange{url.path, std::move(bytes), response_check(url, o.body_limit)});
        }
    }

    http_client_context& context;
    const http_spec& options;
    const bool https;
    const bool reuse;
    const std::optional<ip_address> source;
    const tls_peer_name tls_peer;
    tcp::endpoint peer;
    // In the order they are fetched; never empty.
    std::vector<exchange> exchanges;
    // The URL of the run in flight.
    std::size_t current = 0;
    tcp::socket socket;
    // The TLS connection over `socket` while it is open (HTTPS only).
    ssl_ptr tls;
    // The session to resume on the next connection, and when the last full handshake verified
    // the server's certificate.
    ssl_session_ptr tls_session;
    std::chrono::steady_clock::time_point full_handshake_at{};
    http_response_parser parser;
    probe::completion done;
    std::chrono::steady_clock::time_point started{};
    // Serial of the current run; a handler of an older run finds it changed and does nothing.
    std::uint64_t run = 0;
    // The socket holds a kept-alive connection from an earlier run.
    bool idle_open = false;
    // This run sends on a kept-alive connection: if the server closed it meanwhile, the run
    // reconnects once instead of failing.
    bool on_reused = false;

    response_check& judge() { return exchanges[current].judge; }
    const std::string& request() const { return exchanges[current].request; }

    bool on_body(std::string_view bytes) override { return judge().feed(bytes); }

    void start(probe::completion cb) {
        done = std::move(cb);
        ++run;
        current = 0;
        judge().reset();
        parser.reset(options.method == http_method::head);
        started = std::chrono::steady_clock::now();
        if (reuse && idle_open && socket.is_open()) {
            on_reused = true;
            send_request();
            return;
        }
        on_reused = false;
        connect();
    }

    // Ends the run in flight, if any; a kept-alive idle connection stays for the next run.
    void cancel() {
        if (done) {
            abandon();
        }
    }

    void abandon() {
        ++run;
        done = nullptr;
        close();
    }

    void close() {
        idle_open = false;
        if (tls) {
            if (options.tls_session_reuse && SSL_is_init_finished(tls.get()) == 1) {
                // Taken at the end, not after the handshake: TLS 1.3 tickets arrive after it.
                ssl_session_ptr session(SSL_get1_session(tls.get()));
                if (session && SSL_SESSION_is_resumable(session.get()) == 1) {
                    tls_session = std::move(session);
                }
            }
            // Quiet: nothing is sent (the socket is reset next), and OpenSSL does not count the
            // unannounced end against the session.
            SSL_set_quiet_shutdown(tls.get(), 1);
            SSL_shutdown(tls.get());
            tls.reset();
        }
        boost::system::error_code ignored;
        socket.close(ignored);
    }

    // The socket is connected, written and read with plain system calls; Asio only waits for
    // readiness. Its own async_connect adds a poll per check to confirm what SO_ERROR says.
    void connect() {
        close();
        auto fail_later = [this](int error) {
            asio::post(context.executor(), [self = shared_from_this(), r = run, error] {
                if (r == self->run) {
                    self->complete(probe_result::fail(describe_connect(error)));
                }
            });
        };
        // Opened through Asio (an adopted descriptor would cost an epoll_ctl DEL at close) and
        // made non-blocking by hand, so Asio's waits need not do it again.
        boost::system::error_code ec;
        socket.open(peer.protocol(), ec);
        if (!ec) {
            socket.non_blocking(true, ec);
        }
        if (ec) {
            fail_later(ec.value());
            return;
        }
        int fd = socket.native_handle();
        // Close with a reset: no TIME_WAIT per check on either side, as a load balancer's
        // checks have always done.
        ::linger reset_on_close{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof reset_on_close);
        if (source) {
            if (int error = bind_source(fd, *source); error != 0) {
                asio::post(context.executor(), [self = shared_from_this(), r = run, error] {
                    if (r == self->run) {
                        self->complete(
                            probe_result::fail(describe_bind_failure(*self->source, error)));
                    }
                });
                return;
            }
        }
        ++context.connections_opened;
        if (::connect(fd, peer.data(), static_cast<socklen_t>(peer.size())) != 0 &&
            errno != EINPROGRESS) {
            fail_later(errno);
            return;
        }
        socket.async_wait(tcp::socket::wait_write, [self = shared_from_this(),
                                                    r = run](const boost::system::error_code& wec) {
            if (r != self->run) {
                return;
            }
            int error = connect_outcome(wec, self->socket.native_handle());
            if (error != 0) {
                self->complete(probe_result::fail(describe_connect(error)));
                return;
            }
            if (self->https) {
                self->start_tls();
                return;
            }
            self->send_request();
        });
    }

    // Runs `step` again once the socket is ready for what OpenSSL asked for.
    template <class Step>
    void wait_for_tls(int ssl_error, Step step) {
        auto direction =
            ssl_error == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read;
        socket.async_wait(direction, [self = shared_from_this(), r = run,
                                      step](const boost::system::error_code& ec) {
            if (r != self->run) {
                return;
            }
            if (ec) {
                self->complete(probe_result::fail(describe_transfer(ec.value())));
                return;
            }
            step(*self);
        });
    }

    void start_tls() {
        std::string error;
        SSL_CTX* tls_context = context.tls_contexts().get(options, error);
        if (tls_context == nullptr) {
            complete(probe_result::fail(error));
            return;
        }
        tls.reset(SSL_new(tls_context));
        if (!tls || SSL_set_fd(tls.get(), socket.native_handle()) != 1) {
            ERR_clear_error();
            complete(probe_result::fail("TLS handshake failed: out of memory"));
            return;
        }
        bool resume = options.tls_session_reuse && tls_session &&
                      std::chrono::steady_clock::now() - full_handshake_at < tls_session_max_age;
        if (!prepare_tls_connection(tls.get(), tls_peer, options,
                                    resume ? tls_session.get() : nullptr, error)) {
            complete(probe_result::fail(error));
            return;
        }
        handshake();
    }

    void handshake() {
        ERR_clear_error();
        int r = SSL_connect(tls.get());
        if (r == 1) {
            ++context.tls_handshakes;
            if (SSL_session_reused(tls.get()) == 1) {
                ++context.tls_resumed;
            } else {
                full_handshake_at = std::chrono::steady_clock::now();
            }
            send_request();
            return;
        }
        int error = SSL_get_error(tls.get(), r);
        int os_error = errno;
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            wait_for_tls(error, [](connection& c) { c.handshake(); });
            return;
        }
        complete(probe_result::fail(describe_tls_failure(tls.get(), error, os_error)));
    }

    // SSL_write without partial writes sends the whole request or nothing, and is retried with
    // the same bytes when OpenSSL waits for the socket.
    void send_tls_request() {
        ERR_clear_error();
        const auto& bytes = request();
        int n = SSL_write(tls.get(), bytes.data(), static_cast<int>(bytes.size()));
        if (n > 0) {
            wait_for_response();
            return;
        }
        int error = SSL_get_error(tls.get(), n);
        int os_error = errno;
        ERR_clear_error();
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            wait_for_tls(error, [](connection& c) { c.send_tls_request(); });
            return;
        }
        if (retry_on_fresh_connection()) {
            return;
        }
        complete(probe_result::fail(describe_transfer(os_error != 0 ? os_error : ECONNRESET)));
    }

    void send_request() {
        ++context.requests_sent;
        if (tls) {
            send_tls_request();
            return;
        }
        // One send straight away: a request of a few hundred bytes always fits a fresh socket's
        // buffer, so the write needs no readiness wait and no handler.
        const auto& bytes = request();
        auto n = ::send(socket.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(bytes.size())) {
            wait_for_response();
            return;
        }
        int error = n < 0 ? errno : 0;
        if (n < 0 && error != EAGAIN && error != EWOULDBLOCK) {
            if (retry_on_fresh_connection()) {
                return;
            }
            complete(probe_result::fail(describe_transfer(error)));
            return;
        }
        auto sent = static_cast<std::size_t>(n < 0 ? 0 : n);
        asio::async_write(
            socket, asio::buffer(bytes.data() + sent, bytes.size() - sent),
            [self = shared_from_this(), r = run](const boost::system::error_code& ec, std::size_t) {
                if (r != self->run) {
                    return;
                }
                if (ec) {
                    self->complete(probe_result::fail(describe_transfer(
                        ec == asio::error::connection_reset ? ECONNRESET : ec.value())));
                    return;
                }
                self->wait_for_response();
            });
    }

    // A kept-alive connection the server has closed is not a failed check: try a fresh one.
    bool retry_on_fresh_connection() {
        if (!on_reused || parser.received_anything()) {
            return false;
        }
        on_reused = false;
        parser.reset(options.method == http_method::head);
        judge().reset();
        connect();
        return true;
    }

    void wait_for_response() {
        socket.async_wait(tcp::socket::wait_read, [self = shared_from_this(),
                                                   r = run](const boost::system::error_code& ec) {
            if (r != self->run) {
                return;
            }
            if (ec) {
                self->complete(probe_result::fail(describe_transfer(ec.value())));
                return;
            }
            self->read_available();
        });
    }

    // recv() or SSL_read(), answered as recv() does: bytes, 0 at the end, or -1 with errno
    // (EAGAIN while the socket has nothing; EINPROGRESS when TLS must write before it can read).
    ssize_t receive(std::span<char> buffer) {
        if (!tls) {
            return ::recv(socket.native_handle(), buffer.data(), buffer.size(), 0);
        }
        ERR_clear_error();
        int n = SSL_read(tls.get(), buffer.data(),
                         static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX)));
        if (n > 0) {
            return n;
        }
        int error = SSL_get_error(tls.get(), n);
        int os_error = errno;
        ERR_clear_error();
        switch (error) {
            case SSL_ERROR_WANT_READ:
                errno = EAGAIN;
                return -1;
            case SSL_ERROR_WANT_WRITE:
                errno = EINPROGRESS;
                return -1;
            case SSL_ERROR_ZERO_RETURN:
                return 0;
            case SSL_ERROR_SYSCALL:
                if (os_error == 0) {
                    return 0;
                }
                errno = os_error;
                return -1;
            default:
                errno = EPROTO;
                return -1;
        }
    }

    void read_available() {
        auto buffer = context.receive_buffer();
        std::size_t budget = read_budget_per_turn;
        while (true) {
            auto n = receive(buffer);
            if (n > 0) {
                auto got = parser.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                                       *this);
                if (got != http_response_parser::outcome::need_more) {
                    response_ended();
                    return;
                }
                auto used = static_cast<std::size_t>(n);
                if (used >= budget) {
                    asio::post(context.executor(), [self = shared_from_this(), r = run] {
                        if (r == self->run) {
                            self->read_available();
                        }
                    });
                    return;
                }
                budget -= used;
                continue;
            }
            if (n == 0) {
                if (retry_on_fresh_connection()) {
                    return;
                }
                parser.end_of_stream();
                response_ended();
                return;
            }
            int error = errno;
            if (error == EINTR) {
                continue;
            }
            if (error == EAGAIN || error == EWOULDBLOCK) {
                wait_for_response();
                return;
            }
            if (error == EINPROGRESS) {
                wait_for_tls(SSL_ERROR_WANT_WRITE, [](connection& c) { c.read_available(); });
                return;
            }
            if (retry_on_fresh_connection()) {
                return;
            }
            complete(probe_result::fail(describe_transfer(error)));
            return;
        }
    }

    void response_ended() {
        if (parser.state() == http_response_parser::outcome::invalid) {
            complete(probe_result::fail(std::string(parser.error())));
            return;
        }
        bool keep = reuse && parser.keep_alive();
        auto result = judge().verdict(parser.status());
        if (result.success && current + 1 < exchanges.size()) {
            next_url(keep);
            return;
        }
        complete(std::move(result), keep);
    }

    // The next URL of this run: on the same connection when the answer allowed it, else on a
    // fresh one (as a run begins).
    void next_url(bool keep) {
        ++current;
        judge().reset();
        parser.reset(options.method == http_method::head);
        if (keep) {
            on_reused = true;
            send_request();
            return;
        }
        on_reused = false;
        connect();
    }

    void complete(probe_result result, bool keep_open = false) {
        if (keep_open) {
            idle_open = true;
        } else {
            close();
        }
        if (!result.success) {
            // The next check verifies the certificate afresh.
            tls_session.reset();
            if (exchanges.size() > 1) {
                result.reason = exchanges[current].path + ": " + result.reason;
            }
        }
        ++run;  // nothing of this run may report again
        result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        auto cb = std::move(done);
        done = nullptr;
        if (cb) {
            cb(std::move(result));
        }
    }
};

http_client_probe::http_client_probe(http_client_context& context, const ip_endpoint& target,
                                     const http_spec& options, bool https,
                                     std::optional<ip_address> source)
    : connection_(
          std::make_shared<connection>(context, target, options, https, std::move(source))) {}

http_client_probe::~http_client_probe() {
    connection_->abandon();
}

void http_client_probe::start(completion done) {
    connection_->cancel();
    connection_->start(std::move(done));
}

void http_client_probe::cancel() {
    connection_->cancel();
}

}  // namespace vigil::checkers
