#include "checkers/tcp_probe.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "checkers/connect_outcome.hpp"
#include "checkers/source_address.hpp"

namespace vigil::checkers {

namespace asio = boost::asio;
using asio::ip::tcp;

expect_state match_expect(std::string_view received, std::string_view expect, bool eof,
                          std::size_t limit) {
    if (received.find(expect) != std::string_view::npos) {
        return expect_state::matched;
    }
    if (eof || received.size() >= limit) {
        return expect_state::mismatched;
    }
    return expect_state::need_more;
}

namespace {

constexpr std::size_t expect_read_limit = 16 * 1024;

std::string describe_connect(int error) {
    if (error == ECONNREFUSED) {
        return "connection refused";
    }
    if (error == ECONNRESET) {
        return "connection reset";
    }
    if (error == EHOSTUNREACH || error == ENETUNREACH) {
        return "unreachable";
    }
    return std::strerror(error);
}

std::string describe(const boost::system::error_code& ec) {
    if (ec == asio::error::connection_refused) {
        return "connection refused";
    }
    if (ec == asio::error::connection_reset) {
        return "connection reset";
    }
    if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) {
        return "unreachable";
    }
    return ec.message();
}

}  // namespace

// One run's state; the handlers hold it, so cancel() can drop the probe's reference at any time.
struct tcp_probe::run {
    explicit run(asio::any_io_executor ex) : socket(std::move(ex)) {}
    tcp::socket socket;
    probe::completion done;
    const tcp_spec* options = nullptr;
    std::string received;
    // Only a check that expects an answer reads; a connect-only one allocates no buffer.
    std::vector<char> buffer;
    std::chrono::steady_clock::time_point started;
    bool cancelled = false;

    void complete(probe_result result) {
        if (cancelled) {
            return;
        }
        cancelled = true;
        boost::system::error_code ignored;
        socket.close(ignored);
        result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        auto cb = std::move(done);
        done = nullptr;
        cb(std::move(result));
    }

    static void read_more(std::shared_ptr<run> self) {
        auto& s = *self;
        s.buffer.resize(2048);
        s.socket.async_read_some(asio::buffer(s.buffer), [self](const boost::system::error_code& ec,
                                                                std::size_t n) {
            if (self->cancelled) {
                return;
            }
            bool eof = ec == asio::error::eof;
            if (ec && !eof) {
                self->complete(probe_result::fail(describe(ec)));
                return;
            }
            self->received.append(self->buffer.data(), n);
            switch (match_expect(self->received, self->options->expect, eof, expect_read_limit)) {
                case expect_state::matched:
                    self->complete(probe_result::ok());
                    return;
                case expect_state::mismatched:
                    self->complete(probe_result::fail("expect mismatch"));
                    return;
                case expect_state::need_more:
                    read_more(self);
                    return;
            }
        });
    }
};

tcp_probe::tcp_probe(asio::any_io_executor executor, const ip_endpoint& target,
                     const tcp_spec& options, std::optional<ip_address> source)
    : executor_(std::move(executor)),
      target_(target),
      options_(options),
      source_(std::move(source)) {}

tcp_probe::~tcp_probe() {
    cancel();
}

void tcp_probe::cancel() {
    if (current_) {
        current_->cancelled = true;
        boost::system::error_code ignored;
        current_->socket.close(ignored);
        current_.reset();
    }
}

void tcp_probe::start(completion done) {
    cancel();
    auto r = std::make_shared<run>(executor_);
    r->done = std::move(done);
    r->options = &options_;
    r->started = std::chrono::steady_clock::now();
    current_ = r;
    tcp::endpoint peer(target_.address, target_.port);
    // Close with a reset: a check that connects thousands of times a second must not leave a
    // TIME_WAIT (and its FIN exchange) behind each time.
    boost::system::error_code open_error;
    r->socket.open(peer.protocol(), open_error);
    if (!open_error) {
        r->socket.set_option(asio::socket_base::linger(true, 0), open_error);
    }
    if (!open_error && options_.send.empty() && options_.expect.empty()) {
        // A connect-only check is answered by the SYN-ACK. Without quick ACKs the kernel holds
        // back the handshake's last ACK, so the reset at close reaches a server that never
        // accepted: the check costs it neither an accept nor a connection teardown.
        int quick_ack = 0;
        ::setsockopt(r->socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &quick_ack,
                     sizeof quick_ack);
    }
    if (!open_error) {
        r->socket.non_blocking(true, open_error);
    }
    auto fail_later = [this, r](int error) {
        asio::post(executor_, [this, r, error] {
            if (!r->cancelled) {
                current_.reset();
                r->complete(probe_result::fail(describe_connect(error)));
            }
        });
    };
    if (open_error) {
        fail_later(open_error.value());
        return;
    }
    if (source_) {
        if (int error = bind_source(r->socket.native_handle(), *source_); error != 0) {
            asio::post(executor_, [this, r, error] {
                if (!r->cancelled) {
                    current_.reset();
                    r->complete(probe_result::fail(describe_bind_failure(*source_, error)));
                }
            });
            return;
        }
    }
    // Connected with a plain system call, confirmed by connect_outcome once writable.
    if (::connect(r->socket.native_handle(), peer.data(), static_cast<socklen_t>(peer.size())) !=
            0 &&
        errno != EINPROGRESS) {
        fail_later(errno);
        return;
    }
    r->socket.async_wait(
        tcp::socket::wait_write, [this, r](const boost::system::error_code& ready) {
            if (r->cancelled) {
                return;
            }
            int error = connect_outcome(ready, r->socket.native_handle());
            if (error != 0) {
                current_.reset();
                r->complete(probe_result::fail(describe_connect(error)));
                return;
            }
            if (options_.send.empty()) {
                if (options_.expect.empty()) {
                    current_.reset();
                    r->complete(probe_result::ok());
                } else {
                    run::read_more(r);
                }
                return;
            }
            asio::async_write(r->socket, asio::buffer(options_.send),
                              [this, r](const boost::system::error_code& wec, std::size_t) {
                                  if (r->cancelled) {
                                      return;
                                  }
                                  if (wec) {
                                      current_.reset();
                                      r->complete(probe_result::fail(describe(wec)));
                                  } else if (options_.expect.empty()) {
                                      current_.reset();
                                      r->complete(probe_result::ok());
                                  } else {
                                      run::read_more(r);
                                  }
                              });
        });
}

}  // namespace vigil::checkers
