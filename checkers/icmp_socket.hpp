#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#pragma GCC diagnostic pop
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "checkers/icmp_echo.hpp"

namespace vigil::checkers {

// The one ICMP (or ICMPv6) socket every icmp check of a family shares: a thousand real servers
// cost one descriptor, not a thousand. It is an unprivileged ping socket (SOCK_DGRAM, allowed by
// net.ipv4.ping_group_range) when the kernel allows one, else a raw socket (CAP_NET_RAW); it is
// opened at the first echo, and again after a failure to open. Replies are matched to requests by
// sequence number, source address and (raw sockets see every echo reply) identifier.
class icmp_socket {
  public:
    // Called once per echo, on the loop: "" for a reply, else why none can come.
    using completion = std::function<void(std::string error)>;
    using ticket = std::uint64_t;

    icmp_socket(boost::asio::any_io_executor executor, icmp_version version,
                std::uint16_t raw_identifier);
    ~icmp_socket();
    icmp_socket(const icmp_socket&) = delete;
    icmp_socket& operator=(const icmp_socket&) = delete;

    // Sends an echo request to `to`; `done` is never called from inside send().
    ticket send(const boost::asio::ip::address& to, completion done);
    // Forgets an echo (its probe timed out or was cancelled): `done` is not called.
    void forget(ticket t);

    // "ping" or "raw" once open; empty before.
    std::string_view kind() const;
    std::size_t pending() const { return pending_.size(); }

  private:
    struct echo {
        boost::asio::ip::address to;
        ticket id;
        completion done;
    };

    std::optional<std::string> open();
    void wait_for_replies();
    void read_replies();
    void fail_later(ticket t, completion done, std::string why);

    boost::asio::any_io_executor executor_;
    icmp_version version_;
    std::uint16_t identifier_;
    std::optional<boost::asio::posix::stream_descriptor> descriptor_;
    bool raw_ = false;
    std::uint16_t next_sequence_ = 0;
    ticket next_ticket_ = 1;
    std::unordered_map<std::uint16_t, echo> pending_;      // by sequence
    std::unordered_map<ticket, std::uint16_t> sequences_;  // by ticket
    // Echoes that failed before they were sent, whose completion is on its way through the loop.
    std::unordered_map<ticket, completion> failing_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::checkers
