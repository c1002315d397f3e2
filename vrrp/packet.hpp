#pragma once

// The VRRP advertisement codec: bytes <-> struct, no sockets. VRRPv2 is RFC 3768 section 5,
// VRRPv3 is RFC 5798 section 5. The codec validates the packet only (structure, length,
// checksum); whether its VRID, priority, interval or authentication suit an instance is the
// instance's decision.

#include <array>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.hpp"
#include "base/duration.hpp"
#include "vrrp/timing.hpp"

namespace vigil::vrrp {

// IANA protocol number of VRRP, used in the IPv4 header, the IPv6 next header and the v3
// pseudo-header alike.
inline constexpr std::uint8_t ip_protocol_vrrp = 112;
// Every VRRP packet is sent with TTL / hop limit 255 so a receiver can tell it was not routed
// (RFC 5798 5.1.1.3).
inline constexpr std::uint8_t vrrp_ttl = 255;

// The fixed header shared by both versions, before the address list.
inline constexpr std::size_t header_size = 8;
// VRRPv2 always ends with 8 bytes of authentication data, zero when unused (RFC 3768 5.3.10).
inline constexpr std::size_t v2_auth_data_size = 8;

// RFC 3768 5.3.6 authentication types. RFC 3768 removed them from the protocol, but keepalived
// still sends and checks type 1 ("auth_type PASS"), so the codec carries whatever is on the wire.
inline constexpr std::uint8_t auth_type_none = 0;
inline constexpr std::uint8_t auth_type_simple_text = 1;
inline constexpr std::uint8_t auth_type_ip_ah = 2;

// One advertisement (the only VRRP message type).
struct advert {
    protocol_version version = protocol_version::v3;
    std::uint8_t virtual_router_id = 0;
    std::uint8_t priority = 0;
    // On-wire units: v2 whole seconds (8 bits), v3 centiseconds (12 bits). Kept in wire units so
    // a decoded advert re-encodes to the same bytes; advert_interval() gives it as a duration.
    std::uint16_t max_advert_interval = 0;
    // IPv4 addresses for an IPv4 advert, IPv6 for IPv6; at most 255 (the count is one byte).
    std::vector<ip_address> addresses;
    // VRRPv2 only; a v3 advert decodes with these zero and encode ignores them.
    std::uint8_t auth_type = auth_type_none;
    std::array<std::uint8_t, v2_auth_data_size> auth_data{};

    friend bool operator==(const advert&, const advert&) = default;
};

// The advert interval as a duration: v2 seconds * 1000 ms, v3 centiseconds * 10 ms.
duration advert_interval(const advert& a);
// The wire value for `interval`, or nothing when `version` cannot carry it exactly (see
// advert_interval_error in timing.hpp, which says why in words).
std::optional<std::uint16_t> wire_advert_interval(protocol_version version, duration interval);

// Why a received VRRP payload was dropped. to_string() gives each a stable short name used as the
// `reason` of the `vrrp.packet_dropped` event and as status counter keys: never rename one.
enum class decode_error : std::uint8_t {
    too_short,                // shorter than the 8-byte header
    bad_version,              // version field is neither 2 nor 3
    bad_type,                 // type field is not 1 (advertisement), the only type defined
    v2_over_ipv6,             // VRRPv2 is defined for IPv4 only (RFC 3768)
    address_family_mismatch,  // the IP source and destination are of different families
    bad_length,               // length is not header + count * address size (+ 8 in v2)
    bad_checksum,             // checksum field differs from the computed one
    no_addresses,             // a VRRPv3 advert with count 0 (RFC 5798 5.2.5: minimum is 1)
};
std::string_view to_string(decode_error e);

// Decodes the VRRP payload of one IP packet. `ip_source` and `ip_destination` are the packet's
// addresses: the v3 checksum covers them (pseudo-header), and their family says which address
// size the list uses. Returns the advert or why the packet must be dropped. The result's value()
// is deliberately unusable (it would throw); test has_value() and use operator* / operator->.
boost::system::result<advert, decode_error> decode(std::span<const std::uint8_t> vrrp_payload,
                                                   const ip_address& ip_source,
                                                   const ip_address& ip_destination);

// Why `a` cannot be sent from `ip_source` to `ip_destination`, in words, or nothing when it can:
// too many addresses, an address of the wrong family, v2 over IPv6, an interval too wide for its
// field. Config validation makes these impossible; this exists so that is checkable.
std::optional<std::string> advert_encode_error(const advert& a, const ip_address& ip_source,
                                               const ip_address& ip_destination);

// Encodes `a` as the VRRP payload of a packet from `ip_source` to `ip_destination` (for v3 the
// checksum covers them; for unicast the destination is the peer), checksum filled in. v2 always
// carries the 8 authentication bytes. Returns an empty vector, never a malformed packet, when
// advert_encode_error() reports a problem.
std::vector<std::uint8_t> encode(const advert& a, const ip_address& ip_source,
                                 const ip_address& ip_destination);

// RFC 1071 Internet checksum of `message` preceded by the pseudo-header of `ip_source` and
// `ip_destination` for upper-layer `protocol` (IPv4: RFC 768 layout; IPv6: RFC 8200 8.1). With the
// message's checksum field zero this is the value to store (big-endian); over a message whose
// checksum is right it is 0. Used for VRRPv3 (protocol 112) and ICMPv6 (protocol 58).
std::uint16_t pseudo_header_checksum(const ip_address& ip_source, const ip_address& ip_destination,
                                     std::uint8_t protocol, std::span<const std::uint8_t> message);

// An IPv4 datagram as a raw IPPROTO_VRRP socket returns it (Linux delivers the IPv4 header, not
// so for IPv6, where the hop limit arrives as IPV6_HOPLIMIT ancillary data instead).
struct ipv4_datagram {
    boost::asio::ip::address_v4 source;
    boost::asio::ip::address_v4 destination;
    std::uint8_t ttl = 0;
    std::span<const std::uint8_t> payload;  // views the buffer given to split_ipv4_datagram
};

// Why an IPv4 datagram could not be split. Stable names, as for decode_error; prefixed "ip_" so a
// counter key says which layer was wrong.
enum class ipv4_error : std::uint8_t {
    too_short,          // shorter than a minimal 20-byte IPv4 header
    bad_version,        // version field is not 4
    bad_header_length,  // IHL below 5 words, or header longer than the buffer
    bad_total_length,   // total length field differs from the bytes received
    not_vrrp,           // protocol field is not 112
};
std::string_view to_string(ipv4_error e);

// Splits a received IPv4 datagram into addresses, TTL and payload, checking the header strictly.
// The TTL is returned, not checked: a unicast peer may legitimately arrive with less than 255.
boost::system::result<ipv4_datagram, ipv4_error> split_ipv4_datagram(
    std::span<const std::uint8_t> datagram);

}  // namespace vigil::vrrp
