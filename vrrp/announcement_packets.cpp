#include "vrrp/announcement_packets.hpp"

#include <algorithm>

#include "vrrp/packet.hpp"

namespace vigil::vrrp {

namespace {

constexpr std::uint8_t ip_protocol_icmpv6 = 58;

template <std::size_t N, std::size_t M>
void put(std::array<std::uint8_t, N>& out, std::size_t offset,
         const std::array<unsigned char, M>& bytes) {
    std::copy(bytes.begin(), bytes.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
}

template <std::size_t N>
void put_u16(std::array<std::uint8_t, N>& out, std::size_t offset, std::uint16_t value) {
    out[offset] = static_cast<std::uint8_t>(value >> 8);
    out[offset + 1] = static_cast<std::uint8_t>(value & 0xff);
}

}  // namespace

std::array<std::uint8_t, gratuitous_arp_frame_size> gratuitous_arp_frame(
    const mac_address& source, const boost::asio::ip::address_v4& address) {
    constexpr mac_address broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    std::array<std::uint8_t, gratuitous_arp_frame_size> frame{};
    // Ethernet II header.
    put(frame, 0, broadcast);
    put(frame, 6, source);
    put_u16(frame, 12, 0x0806);  // ethertype ARP
    // ARP (RFC 826) for Ethernet / IPv4.
    put_u16(frame, 14, 1);       // hardware type Ethernet
    put_u16(frame, 16, 0x0800);  // protocol type IPv4
    frame[18] = 6;               // hardware address length
    frame[19] = 4;               // protocol address length
    // A request rather than a reply, as keepalived sends (RFC 5227 section 3 explains why
    // announcements are broadcast requests).
    put_u16(frame, 20, 1);
    put(frame, 22, source);
    put(frame, 28, address.to_bytes());
    // keepalived fills the target hardware address with the broadcast address (RFC 5227 asks for
    // zero); copied so our frames are indistinguishable from a keepalived peer's.
    put(frame, 32, broadcast);
    put(frame, 38, address.to_bytes());
    return frame;
}

boost::asio::ip::address_v6 all_nodes_multicast() {
    boost::asio::ip::address_v6::bytes_type bytes{};
    bytes[0] = 0xff;
    bytes[1] = 0x02;
    bytes[15] = 0x01;
    return boost::asio::ip::address_v6(bytes);
}

std::array<std::uint8_t, neighbour_advert_size> unsolicited_neighbour_advert(
    const mac_address& mac, const boost::asio::ip::address_v6& target, bool router) {
    // RFC 4861 4.4: type, code, checksum, R|S|O flags + 29 reserved bits, target address, then
    // options in 8-octet units.
    constexpr std::uint8_t flag_router = 0x80;
    constexpr std::uint8_t flag_override = 0x20;
    constexpr std::uint8_t option_target_link_layer = 2;
    std::array<std::uint8_t, neighbour_advert_size> message{};
    message[0] = 136;  // neighbour advertisement
    message[1] = 0;
    message[4] = flag_override;
    if (router) {
        message[4] |= flag_router;
    }
    put(message, 8, target.to_bytes());
    message[24] = option_target_link_layer;
    message[25] = 1;  // option length: one 8-octet unit
    put(message, 26, mac);
    return message;
}

std::uint16_t icmpv6_checksum(std::span<const std::uint8_t> message,
                              const boost::asio::ip::address_v6& source,
                              const boost::asio::ip::address_v6& destination) {
    return pseudo_header_checksum(ip_address(source), ip_address(destination), ip_protocol_icmpv6,
                                  message);
}

void fill_icmpv6_checksum(std::span<std::uint8_t> message,
                          const boost::asio::ip::address_v6& source,
                          const boost::asio::ip::address_v6& destination) {
    if (message.size() < 4) {
        return;
    }
    message[2] = 0;
    message[3] = 0;
    auto sum = icmpv6_checksum(message, source, destination);
    message[2] = static_cast<std::uint8_t>(sum >> 8);
    message[3] = static_cast<std::uint8_t>(sum & 0xff);
}

}  // namespace vigil::vrrp
