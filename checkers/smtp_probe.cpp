#include "checkers/smtp_probe.hpp"

#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <chrono>

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

std::string host_name() {
    std::array<char, 256> name{};
    if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') {
        return "localhost";
    }
    return name.data();
}

}  // namespace

// One run's state; the handlers hold it, so cancel() can drop the probe's reference at any time.
struct smtp_probe::run {
    run(asio::any_io_executor ex, std::string helo) : socket(std::move(ex)), dialogue(helo) {}
    tcp::socket socket;
    smtp_dialogue dialogue;
    probe::completion done;
    std::string outgoing;
    std::array<char, 2048> buffer{};
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

    static void act(const std::shared_ptr<run>& self, smtp_dialogue::step step) {
        if (step.verdict) {
            self->complete(std::move(*step.verdict));
            return;
        }
        if (step.send.empty()) {
            read_more(self);
            return;
        }
        self->outgoing = std::move(step.send);
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

    static void read_more(std::shared_ptr<run> self) {
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
};

smtp_probe::smtp_probe(asio::any_io_executor executor, const ip_endpoint& target,
                       const smtp_spec& options)
    : executor_(std::move(executor)),
      target_(target),
      helo_name_(options.helo_name.empty() ? host_name() : options.helo_name) {}

smtp_probe::~smtp_probe() {
    cancel();
}

void smtp_probe::cancel() {
    if (current_) {
        current_->cancelled = true;
        boost::system::error_code ignored;
        current_->socket.close(ignored);
        current_.reset();
    }
}

void smtp_probe::start(completion done) {
    cancel();
    auto r = std::make_shared<run>(executor_, helo_name_);
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
