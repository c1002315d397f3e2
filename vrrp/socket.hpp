#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/address.hpp"

namespace vigil::vrrp {

// One received VRRP payload with what the IP layer said about it.
struct inbound_packet {
    std::span<const std::uint8_t> payload;
    ip_address source;
    ip_address destination;
    int hop_limit = 0;
};

// A raw IPPROTO_VRRP socket bound to one interface and address family, shared by every instance
// on that interface (interface_table makes it the instances' advert_transport). Adverts leave with
// TTL/hop limit 255 and DSCP CS6 (as keepalived sends them); multicast membership of 224.0.0.18 /
// ff02::12 is joined on the interface (IGMP/MLD).
class vrrp_socket {
  public:
    using packet_handler = std::function<void(const inbound_packet&)>;
    // A datagram whose IP header was unusable: the reason's stable name.
    using malformed_handler = std::function<void(std::string_view reason)>;

    // Opens the socket; the error says what failed (root is needed for raw sockets).
    static std::unique_ptr<vrrp_socket> open(boost::asio::any_io_executor executor, int ifindex,
                                             const std::string& ifname, address_family family,
                                             std::string& error);
    ~vrrp_socket();
    vrrp_socket(const vrrp_socket&) = delete;
    vrrp_socket& operator=(const vrrp_socket&) = delete;

    void start(packet_handler on_packet, malformed_handler on_malformed);
    // Delivers datagrams already queued (a bounded number), without waiting: called before acting
    // on a timer that fired late, so a stalled loop never mistakes unread adverts for a dead
    // master. Reading as they arrive is bounded per loop turn too.
    void drain();

    // Sends one encoded VRRP payload; returns why the kernel refused, if it did.
    std::optional<std::string> send(std::span<const std::uint8_t> payload, const ip_address& source,
                                    const ip_address& destination);

    address_family family() const { return family_; }

    struct shared_state;

  private:
    vrrp_socket(std::shared_ptr<shared_state> state, int ifindex, address_family family);
    std::shared_ptr<shared_state> state_;
    int ifindex_;
    address_family family_;
};

}  // namespace vigil::vrrp
