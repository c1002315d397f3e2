#include "checkers/dns_probe.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <chrono>
#include <vector>

#include "checkers/dns_message.hpp"

namespace vigil::checkers {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

// Larger than any UDP answer without EDNS (512) and than most with it.
constexpr std::size_t udp_answer_limit = 4096;

std::string describe(const boost::system::error_code& ec) {
    if (ec == asio::error::connection_refused) {
        return "connection refused";
    }
    if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable) {
        return "unreachable";
    }
    if (ec == asio::error::eof) {
        return "DNS server closed the connection";
    }
    return ec.message();
}

}  // namespace

// One run's state; the handlers hold it, so cancel() can drop the probe's reference at any time.
struct dns_probe::run {
    run(asio::any_io_executor ex, const ip_endpoint& target, const dns_spec& spec)
        : udp_socket(ex), tcp_socket(ex), peer(target), options(spec) {}
    udp::socket udp_socket;
    tcp::socket tcp_socket;
    ip_endpoint peer;
    const dns_spec& options;
    probe::completion done;
    std::uint16_t id = 0;
    std::vector<std::uint8_t> query;
    std::vector<std::uint8_t> answer;
    std::array<std::uint8_t, 2> length{};
    std::chrono::steady_clock::time_point started;
    bool cancelled = false;

    void stop() {
        cancelled = true;
        boost::system::error_code ignored;
        udp_socket.close(ignored);
        tcp_socket.close(ignored);
    }

    void complete(probe_result result) {
        if (cancelled) {
            return;
        }
        stop();
        result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        auto cb = std::move(done);
        done = nullptr;
        cb(std::move(result));
    }

    // Judges a complete answer; a truncated UDP one goes to TCP instead.
    static void on_answer(const std::shared_ptr<run>& self, bool over_tcp) {
        auto decoded = decode_dns_response(self->answer);
        if (!decoded) {
            self->complete(probe_result::fail("invalid DNS answer: " + decoded.error()));
            return;
        }
        if (decoded->truncated && !over_tcp) {
            if (decoded->id != self->id) {
                self->complete(probe_result::fail(
                    judge_dns_response(*decoded, self->id, self->options.name, self->options.type,
                                       self->options.rcode, std::nullopt)));
                return;
            }
            boost::system::error_code ignored;
            self->udp_socket.close(ignored);
            ask_over_tcp(self);
            return;
        }
        auto why = judge_dns_response(*decoded, self->id, self->options.name, self->options.type,
                                      self->options.rcode, self->options.answer);
        self->complete(why.empty() ? probe_result::ok() : probe_result::fail(std::move(why)));
    }

    static void ask_over_udp(const std::shared_ptr<run>& self) {
        udp::endpoint server(self->peer.address, self->peer.port);
        boost::system::error_code ec;
        self->udp_socket.open(server.protocol(), ec);
        if (!ec) {
            self->udp_socket.connect(server, ec);
        }
        if (!ec) {
            self->udp_socket.send(asio::buffer(self->query), 0, ec);
        }
        if (ec) {
            // Completions never run inside start(): report through the loop.
            asio::post(self->udp_socket.get_executor(),
                       [self, why = describe(ec)] { self->complete(probe_result::fail(why)); });
            return;
        }
        self->answer.resize(udp_answer_limit);
        self->udp_socket.async_receive(asio::buffer(self->answer),
                                       [self](const boost::system::error_code& rec, std::size_t n) {
                                           if (self->cancelled) {
                                               return;
                                           }
                                           if (rec) {
                                               self->complete(probe_result::fail(describe(rec)));
                                               return;
                                           }
                                           self->answer.resize(n);
                                           on_answer(self, false);
                                       });
    }

    static void ask_over_tcp(const std::shared_ptr<run>& self) {
        tcp::endpoint server(self->peer.address, self->peer.port);
        self->tcp_socket.async_connect(server, [self](const boost::system::error_code& ec) {
            if (self->cancelled) {
                return;
            }
            if (ec) {
                self->complete(probe_result::fail(describe(ec)));
                return;
            }
            // RFC 1035 4.2.2: over TCP each message is preceded by its length.
            auto size = self->query.size();
            self->query.insert(self->query.begin(), {static_cast<std::uint8_t>(size >> 8),
                                                     static_cast<std::uint8_t>(size & 0xff)});
            asio::async_write(self->tcp_socket, asio::buffer(self->query),
                              [self](const boost::system::error_code& wec, std::size_t) {
                                  if (self->cancelled) {
                                      return;
                                  }
                                  if (wec) {
                                      self->complete(probe_result::fail(describe(wec)));
                                      return;
                                  }
                                  read_tcp_answer(self);
                              });
        });
    }

    static void read_tcp_answer(const std::shared_ptr<run>& self) {
        asio::async_read(
            self->tcp_socket, asio::buffer(self->length),
            [self](const boost::system::error_code& ec, std::size_t) {
                if (self->cancelled) {
                    return;
                }
                if (ec) {
                    self->complete(probe_result::fail(describe(ec)));
                    return;
                }
                self->answer.assign(std::size_t{self->length[0]} << 8 | self->length[1], 0);
                asio::async_read(self->tcp_socket, asio::buffer(self->answer),
                                 [self](const boost::system::error_code& rec, std::size_t) {
                                     if (self->cancelled) {
                                         return;
                                     }
                                     if (rec) {
                                         self->complete(probe_result::fail(describe(rec)));
                                         return;
                                     }
                                     on_answer(self, true);
                                 });
            });
    }
};

dns_probe::dns_probe(asio::any_io_executor executor, const ip_endpoint& target,
                     const dns_spec& options, random_source& random)
    : executor_(std::move(executor)), target_(target), options_(options), random_(random) {}

dns_probe::~dns_probe() {
    cancel();
}

void dns_probe::cancel() {
    if (current_) {
        current_->stop();
        current_.reset();
    }
}

void dns_probe::start(completion done) {
    cancel();
    auto r = std::make_shared<run>(executor_, target_, options_);
    r->done = [this, done = std::move(done)](probe_result result) {
        current_.reset();
        done(std::move(result));
    };
    r->started = std::chrono::steady_clock::now();
    r->id = static_cast<std::uint16_t>(random_.uniform(0xffff));
    r->query = encode_dns_query(r->id, options_.name, options_.type);
    current_ = r;
    if (options_.transport == dns_transport::tcp) {
        run::ask_over_tcp(r);
    } else {
        run::ask_over_udp(r);
    }
}

}  // namespace vigil::checkers
