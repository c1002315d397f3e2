#include "checkers/udp_probe.hpp"

#include <netinet/in.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <chrono>
#include <vector>

namespace vigil::checkers {

namespace asio = boost::asio;
using asio::ip::udp;

parse_result<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view text) {
    using result = parse_result<std::vector<std::uint8_t>>;
    std::vector<std::uint8_t> out;
    int high = -1;
    for (char c : text) {
        if (c == ' ' || c == ':') {
            if (high >= 0) {
                return result::failure("splits a byte's two hex digits");
            }
            continue;
        }
        int digit = -1;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
        } else {
            return result::failure(std::string("has '") + c + "', not a hex digit");
        }
        if (high < 0) {
            high = digit;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | digit));
            high = -1;
        }
    }
    if (high >= 0) {
        return result::failure("has an odd number of hex digits");
    }
    return out;
}

udp_reply_check::udp_reply_check(const udp_spec& options) : expect_(options.expect) {
    if (options.expect_regex) {
        try {
            regex_.emplace(*options.expect_regex, boost::regex::perl);
        } catch (const boost::regex_error& e) {
            regex_error_ = std::string("invalid expect_regex: ") + e.what();
        }
    }
}

std::string udp_reply_check::judge(std::string_view reply) const {
    if (!regex_error_.empty()) {
        return regex_error_;
    }
    if (!expect_.empty() && reply.find(expect_) == std::string_view::npos) {
        return "reply mismatch";
    }
    if (regex_) {
        try {
            if (!boost::regex_search(reply.begin(), reply.end(), *regex_)) {
                return "reply mismatch";
            }
        } catch (const std::runtime_error&) {
            // Boost gives up on pathological patterns instead of running forever.
            return "reply regex too complex";
        }
    }
    return {};
}

namespace {

// Datagrams longer than this are cut; the expectations only ever look at the start.
constexpr std::size_t reply_limit = 64 * 1024;

std::string describe(const boost::system::error_code& ec) {
    if (ec == asio::error::connection_refused) {
        return "port unreachable";
    }
    if (ec == asio::error::host_unreachable) {
        return "host unreachable";
    }
    if (ec == asio::error::network_unreachable) {
        return "network unreachable";
    }
    return ec.message();
}

}  // namespace

// One run's state; the handlers hold it, so cancel() can drop the probe's reference at any time.
struct udp_probe::run {
    explicit run(asio::any_io_executor ex) : socket(ex), quiet(ex) {}
    udp::socket socket;
    asio::steady_timer quiet;
    probe::completion done;
    std::vector<char> buffer = std::vector<char>(reply_limit);
    std::chrono::steady_clock::time_point started;
    bool cancelled = false;

    void stop() {
        cancelled = true;
        boost::system::error_code ignored;
        socket.close(ignored);
        quiet.cancel();
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
};

udp_probe::udp_probe(asio::any_io_executor executor, const ip_endpoint& target,
                     const udp_spec& options, duration timeout)
    : executor_(std::move(executor)),
      target_(target),
      options_(options),
      reply_check_(options),
      quiet_wait_(timeout * 3 / 4) {}

udp_probe::~udp_probe() {
    cancel();
}

void udp_probe::cancel() {
    if (current_) {
        current_->stop();
        current_.reset();
    }
}

void udp_probe::start(completion done) {
    cancel();
    auto r = std::make_shared<run>(executor_);
    r->done = std::move(done);
    r->started = std::chrono::steady_clock::now();
    current_ = r;
    udp::endpoint peer(target_.address, target_.port);
    boost::system::error_code ec;
    r->socket.open(peer.protocol(), ec);
    if (!ec) {
        // Without RECVERR a connected socket still learns of port unreachable, but not of host
        // or network unreachable; with it, every ICMP error ends the probe.
        int on = 1;
        int level = peer.address().is_v4() ? IPPROTO_IP : IPPROTO_IPV6;
        int name = peer.address().is_v4() ? IP_RECVERR : IPV6_RECVERR;
        if (::setsockopt(r->socket.native_handle(), level, name, &on, sizeof on) != 0) {
            ec.assign(errno, boost::system::system_category());
        }
    }
    if (!ec) {
        r->socket.connect(peer, ec);
    }
    if (!ec) {
        r->socket.send(asio::buffer(options_.send), 0, ec);
    }
    if (ec) {
        // Completions never run inside start(): report through the loop.
        asio::post(executor_, [r, why = describe(ec)] { r->complete(probe_result::fail(why)); });
        return;
    }
    r->socket.async_receive(
        asio::buffer(r->buffer), [this, r](const boost::system::error_code& rec, std::size_t n) {
            if (r->cancelled) {
                return;
            }
            current_.reset();
            if (rec) {
                r->complete(probe_result::fail(describe(rec)));
                return;
            }
            auto why = reply_check_.judge(std::string_view(r->buffer.data(), n));
            r->complete(why.empty() ? probe_result::ok() : probe_result::fail(std::move(why)));
        });
    if (!options_.require_reply) {
        r->quiet.expires_after(quiet_wait_);
        r->quiet.async_wait([this, r](const boost::system::error_code& wec) {
            if (wec || r->cancelled) {
                return;
            }
            current_.reset();
            r->complete(probe_result::ok());
        });
    }
}

}  // namespace vigil::checkers
