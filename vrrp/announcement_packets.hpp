#pragma once

// What a new MASTER sends so neighbours move the VIPs to its link-layer address at once instead of
// waiting for their ARP / neighbour cache entries to expire: a gratuitous ARP per IPv4 VIP and an
// unsolicited neighbour advertisement per IPv6 VIP. Pure builders; the shell owns the sockets.

#include <array>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vigil::vrrp {

using mac_address = std::array<std::uint8_t, 6>;

inline constexpr std::size_t gratuitous_arp_frame_size = 42;

// A complete Ethernet frame (no FCS; the NIC pads it to 60 bytes) for a PF_PACKET socket, laid
// out as keepalived sends it: broadcast destination, ethertype ARP, an ARP *request* whose sender
// and target IP are both `address` and whose target hardware address is ff:ff:ff:ff:ff:ff.
// `source` is the sending interface's MAC (or the VMAC) and is both frame source and ARP sender.
std::array<std::uint8_t, gratuitous_arp_frame_size> gratuitous_arp_frame(
    const mac_address& source, const boost::asio::ip::address_v4& address);

inline constexpr std::size_t neighbour_advert_size = 32;
// Neighbour discovery messages must arrive with hop limit 255 (RFC 4861 7.1.2).
inline constexpr int neighbour_advert_hop_limit = 255;
// The all-nodes group an unsolicited advertisement goes to (RFC 4861 4.4, 7.2.6).
boost::asio::ip::address_v6 all_nodes_multicast();

// The ICMPv6 message (no IPv6 header) of an unsolicited neighbour advertisement for `target`,
// for a raw IPPROTO_ICMPV6 socket sending to ff02::1 with hop limit 255. Flags: Override set (the
// point is to replace cached entries), Solicited clear (nobody asked), Router as `router`:
// keepalived sets it from the interface's net.ipv6.conf.<if>.forwarding sysctl, read each time it
// becomes MASTER, so a forwarding director does not make hosts drop it from their router list.
// Carries a target link-layer address option with `mac`. The checksum field is zero: Linux
// computes it for raw ICMPv6 sockets; fill_icmpv6_checksum() fills it for anything else.
std::array<std::uint8_t, neighbour_advert_size> unsolicited_neighbour_advert(
    const mac_address& mac, const boost::asio::ip::address_v6& target, bool router);

// The ICMPv6 checksum (RFC 4443 2.3) of `message` sent from `source` to `destination`: with the
// checksum field zero, the value to store; over a message whose checksum is right, 0.
std::uint16_t icmpv6_checksum(std::span<const std::uint8_t> message,
                              const boost::asio::ip::address_v6& source,
                              const boost::asio::ip::address_v6& destination);

// Computes and stores the checksum of an ICMPv6 message (bytes 2-3, big-endian).
void fill_icmpv6_checksum(std::span<std::uint8_t> message,
                          const boost::asio::ip::address_v6& source,
                          const boost::asio::ip::address_v6& destination);

}  // namespace vigil::vrrp
