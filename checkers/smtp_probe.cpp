#include "checkers/smtp_probe.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "checkers/smtp_dialogue.hpp"

namespace vigil::checkers {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

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

// A TLS read or write that failed after the handshake, in the words of the other failures:
// "connection reset", or "TLS error: <OpenSSL's reason>" (a record that does not decrypt).
std::string describe_tls_transfer(int ssl_error, int os_error) {
    unsigned long code = ERR_get_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    std::string why = reason != nullptr ? reason : "protocol error";
    ERR_clear_error();
    if (ssl_error == SSL_ERROR_SYSCALL && (os_error == ECONNRESET || os_error == EPIPE)) {
        return "connection reset";
    }
    if (ssl_error == SSL_ERROR_SYSCALL && os_error != 0) {
        return std::string("connection error: ") + std::strerror(os_error);
    }
    return "TLS error: " + why;
}

http_spec tls_options_of(const smtp_spec& options) {
    http_spec http;
    http.tls_verify = options.tls_verify;
    http.ca_file = options.ca_file;
    http.sni = options.sni;
    http.tls_session_reuse = false;
    return http;
}

std::string host_name() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') {
        return "localhost";
    }
    return name.data();
}

}  // namespace

// One run's state; the handlers hold it, so cancel() can drop the probe's reference at any time.
// Until STARTTLS the socket is read and written through Asio; after it, through OpenSSL straight
// over the non-blocking socket, Asio only waiting for readiness (as http_client_probe does).
struct smtp_probe::run {
    run(asio::any_io_executor ex, std::string helo, bool starttls, tls_client_contexts& contexts,
        const http_spec& options, const tls_peer_name& peer)
        : socket(std::move(ex)),
          dialogue(std::move(helo), starttls),
          tls_contexts(contexts),
          tls_options(options),
          tls_peer(peer) {}
    tcp::socket socket;
    smtp_dialogue dialogue;
    // The probe's; used only while the run is not cancelled, and the probe cancels it when it
    // goes.
    tls_client_contexts& tls_contexts;
    const http_spec& tls_options;
    const tls_peer_name& tls_peer;
    // The TLS connection over `socket` once STARTTLS was accepted.
    ssl_ptr tls;
    probe::completion done;
    std::string outgoing;
    std::array<char, 2048> buffer{};
    std::chrono::steady_clock::time_point started;
    bool cancelled = false;

    using resume = void (*)(const std::shared_ptr<run>&);

    void complete(probe_result result) {
        if (cancelled) {
            return;
        }
        cancelled = true;
        close_tls();
        boost::system::error_code ignored;
        socket.close(ignored);
        result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        auto cb = std::move(done);
        done = nullptr;
        cb(std::move(result));
    }

    void close_tls() {
        if (tls) {
            // Quiet: the socket is reset next; a close_notify would tell the server nothing QUIT
            // has not.
            SSL_set_quiet_shutdown(tls.get(), 1);
            SSL_shutdown(tls.get());
            ERR_clear_error();
            tls.reset();
        }
    }

    static void act(const std::shared_ptr<run>& self, smtp_dialogue::step step) {
        if (step.verdict) {
            self->complete(std::move(*step.verdict));
            return;
        }
        if (step.start_tls) {
            start_tls(self);
            return;
        }
        if (step.send.empty()) {
            read_more(self);
            return;
        }
        self->outgoing = std::move(step.send);
        if (self->tls) {
            write_tls(self);
            return;
        }
        asio::async_write(self->socket, asio::buffer(self->outgoing),
                          [self](const boost::system::error_code& ec, std::size_t) {
                              if (self->cancelled) {
                                  return;
                              }
                              if (ec) {
                                  self->complete(probe_result::fail(describe(ec)));
                                  return;
                              }
                              read_more(self);
                          });
    }

    static void read_more(const std::shared_ptr<run>& self) {
        if (self->tls) {
            read_tls(self);
            return;
        }
        auto& s = *self;
        s.socket.async_read_some(
            asio::buffer(s.buffer), [self](const boost::system::error_code& ec, std::size_t n) {
                if (self->cancelled) {
                    return;
                }
                if (ec == asio::error::eof) {
                    act(self, self->dialogue.on_eof());
                    return;
                }
                if (ec) {
                    self->complete(probe_result::fail(describe(ec)));
                    return;
                }
                act(self, self->dialogue.on_data(std::string_view(self->buffer.data(), n)));
            });
    }

    // Runs `then` again once the socket is ready for what OpenSSL asked for.
    static void wait_for_tls(const std::shared_ptr<run>& self, int ssl_error, resume then) {
        auto direction =
            ssl_error == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read;
        self->socket.async_wait(direction, [self, then](const boost::system::error_code& ec) {
            if (self->cancelled) {
                return;
            }
            if (ec) {
                self->complete(probe_result::fail(describe(ec)));
                return;
            }
            then(self);
        });
    }

    // The server said 220 to STARTTLS and nothing after it (the dialogue made sure): whatever
    // the socket delivers from here on is read by OpenSSL as TLS records, never as a reply.
    static void start_tls(const std::shared_ptr<run>& self) {
        auto& s = *self;
        std::string error;
        SSL_CTX* context = s.tls_contexts.get(s.tls_options, error);
        if (context == nullptr) {
            s.complete(probe_result::fail(std::move(error)));
            return;
        }
        boost::system::error_code ec;
        s.socket.non_blocking(true, ec);
        if (ec) {
            s.complete(probe_result::fail(describe(ec)));
            return;
        }
        s.tls.reset(SSL_new(context));
        if (!s.tls || SSL_set_fd(s.tls.get(), s.socket.native_handle()) != 1) {
            ERR_clear_error();
            s.complete(probe_result::fail("TLS handshake failed: out of memory"));
            return;
        }
        if (!prepare_tls_connection(s.tls.get(), s.tls_peer, s.tls_options, nullptr, error)) {
            s.complete(probe_result::fail(std::move(error)));
            return;
        }
        handshake(self);
    }

    static void handshake(const std::shared_ptr<run>& self) {
        auto& s = *self;
        ERR_clear_error();
        int r = SSL_connect(s.tls.get());
        if (r == 1) {
            act(self, s.dialogue.on_tls_established());
            return;
        }
        int error = SSL_get_error(s.tls.get(), r);
        int os_error = errno;
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            wait_for_tls(self, error, handshake);
            return;
        }
        s.complete(probe_result::fail(describe_tls_failure(s.tls.get(), error, os_error)));
    }

    // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write sends the whole command or nothing, and
    // is retried with the same bytes when OpenSSL waits for the socket.
    static void write_tls(const std::shared_ptr<run>& self) {
        auto& s = *self;
        ERR_clear_error();
        int n = SSL_write(s.tls.get(), s.outgoing.data(), static_cast<int>(s.outgoing.size()));
        if (n > 0) {
            read_tls(self);
            return;
        }
        int error = SSL_get_error(s.tls.get(), n);
        int os_error = errno;
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            wait_for_tls(self, error, write_tls);
            return;
        }
        s.complete(probe_result::fail(describe_tls_transfer(error, os_error)));
    }

    // SSL_read first, waiting only when it has nothing: bytes OpenSSL already decrypted are
    // never left waiting for a readiness that will not come. What one turn reads this way is
    // bounded by the reader (a reply of at most max_lines lines of max_line bytes).
    static void read_tls(const std::shared_ptr<run>& self) {
        auto& s = *self;
        ERR_clear_error();
        int n = SSL_read(s.tls.get(), s.buffer.data(), static_cast<int>(s.buffer.size()));
        if (n > 0) {
            act(self,
                s.dialogue.on_data(std::string_view(s.buffer.data(), static_cast<std::size_t>(n))));
            return;
        }
        int error = SSL_get_error(s.tls.get(), n);
        int os_error = errno;
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            wait_for_tls(self, error, read_tls);
            return;
        }
        // The context ignores an unexpected EOF, so a server that closes without close_notify
        // ends the stream like one that sends it.
        if (error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && os_error == 0)) {
            ERR_clear_error();
            act(self, s.dialogue.on_eof());
            return;
        }
        s.complete(probe_result::fail(describe_tls_transfer(error, os_error)));
    }
};

smtp_probe::smtp_probe(asio::any_io_executor executor, const ip_endpoint& target,
                       const smtp_spec& options, tls_client_contexts& tls_contexts)
    : executor_(std::move(executor)),
      target_(target),
      helo_name_(options.helo_name.empty() ? host_name() : options.helo_name),
      starttls_(options.starttls),
      tls_contexts_(tls_contexts),
      tls_options_(tls_options_of(options)),
      tls_peer_(tls_name_for(target, tls_options_)) {}

smtp_probe::~smtp_probe() {
    cancel();
}

void smtp_probe::cancel() {
    if (current_) {
        current_->cancelled = true;
        current_->close_tls();
        boost::system::error_code ignored;
        current_->socket.close(ignored);
        current_.reset();
    }
}

void smtp_probe::start(completion done) {
    cancel();
    auto r = std::make_shared<run>(executor_, helo_name_, starttls_, tls_contexts_, tls_options_,
                                   tls_peer_);
    r->done = std::move(done);
    r->started = std::chrono::steady_clock::now();
    current_ = r;
    tcp::endpoint peer(target_.address, target_.port);
    boost::system::error_code open_error;
    r->socket.open(peer.protocol(), open_error);
    if (!open_error) {
        // Closed with a reset: no TIME_WAIT per check, and the server has said 221 by then.
        r->socket.set_option(asio::socket_base::linger(true, 0), open_error);
    }
    r->socket.async_connect(peer, [r](const boost::system::error_code& ec) {
        if (r->cancelled) {
            return;
        }
        if (ec) {
            r->complete(probe_result::fail(describe(ec)));
            return;
        }
        // The server speaks first.
        run::read_more(r);
    });
}

}  // namespace vigil::checkers
