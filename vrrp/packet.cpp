#include "vrrp/packet.hpp"

#include <algorithm>
#include <boost/asio/ip/address_v6.hpp>

namespace vigil::vrrp {

namespace {

// Field layout shared by both versions (RFC 3768 5.1, RFC 5798 5.1):
//   0: version (high nibble) | type (low nibble)
//   1: virtual router id
//   2: priority
//   3: count of addresses
//   4: v2 auth type            | v3 reserved (high nibble) + max advert interval bits 11..8
//   5: v2 advert interval (s)  | v3 max advert interval bits 7..0 (centiseconds)
//   6-7: checksum
//   8..: addresses, then in v2 eight bytes of authentication data
constexpr std::size_t checksum_offset = 6;
constexpr std::uint8_t type_advertisement = 1;
constexpr std::uint16_t v3_interval_mask = 0x0fff;
constexpr std::size_t max_addresses = 255;

constexpr std::size_t address_size(bool ipv6) {
    return ipv6 ? 16 : 4;
}

std::size_t expected_length(protocol_version version, std::size_t count, bool ipv6) {
    auto length = header_size + count * address_size(ipv6);
    return version == protocol_version::v2 ? length + v2_auth_data_size : length;
}

std::uint16_t read_u16(std::span<const std::uint8_t> bytes, std::size_t offset) {
    return static_cast<std::uint16_t>(bytes[offset] << 8 | bytes[offset + 1]);
}

void write_u16(std::span<std::uint8_t> bytes, std::size_t offset, std::uint16_t value) {
    bytes[offset] = static_cast<std::uint8_t>(value >> 8);
    bytes[offset + 1] = static_cast<std::uint8_t>(value & 0xff);
}

// One's-complement accumulation of 16-bit big-endian words (RFC 1071); an odd trailing byte is
// padded with zero. Kept unfolded in 64 bits so callers can chain pseudo-header and message.
std::uint64_t add_words(std::uint64_t sum, std::span<const std::uint8_t> bytes) {
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += read_u16(bytes, i);
    }
    if (i < bytes.size()) {
        sum += static_cast<std::uint64_t>(bytes[i]) << 8;
    }
    return sum;
}

std::uint16_t fold_and_complement(std::uint64_t sum) {
    while (sum >> 16 != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::uint64_t add_address(std::uint64_t sum, const ip_address& address) {
    return address.is_v6() ? add_words(sum, address.to_v6().to_bytes())
                           : add_words(sum, address.to_v4().to_bytes());
}

// The unfolded sum of the pseudo-header for an upper-layer message of `length` bytes. The layout
// follows the source's family; a destination of the other family (a caller's mistake, refused
// before any checksum matters) is summed as its own bytes rather than thrown on.
std::uint64_t pseudo_header_sum(const ip_address& source, const ip_address& destination,
                                std::uint8_t protocol, std::size_t length) {
    std::uint64_t sum = add_address(add_address(0, source), destination);
    if (source.is_v4()) {
        // IPv4 (RFC 768): source, destination, zero, protocol, 16-bit length.
        return sum + protocol + (length & 0xffff);
    }
    // IPv6 (RFC 8200 8.1): source, destination, 32-bit length, three zero bytes, next header.
    return sum + ((length >> 16) & 0xffff) + (length & 0xffff) + protocol;
}

// The checksum `message` should carry, computed as if its checksum field were zero. v2 covers the
// message only (RFC 3768 5.3.8); v3 adds the IP pseudo-header (RFC 5798 5.2.8).
std::uint16_t vrrp_checksum(protocol_version version, std::span<const std::uint8_t> message,
                            const ip_address& source, const ip_address& destination) {
    std::uint64_t sum = 0;
    if (version == protocol_version::v3) {
        sum = pseudo_header_sum(source, destination, ip_protocol_vrrp, message.size());
    }
    sum = add_words(sum, message.first(checksum_offset));
    return fold_and_complement(add_words(sum, message.subspan(checksum_offset + 2)));
}

template <std::size_t N>
void append(std::vector<std::uint8_t>& out, const std::array<unsigned char, N>& bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

duration advert_interval(const advert& a) {
    if (a.version == protocol_version::v2) {
        return duration{static_cast<duration::rep>(a.max_advert_interval) * 1000};
    }
    return duration{static_cast<duration::rep>(a.max_advert_interval) * 10};
}

std::optional<std::uint16_t> wire_advert_interval(protocol_version version, duration interval) {
    // One rule for what is representable, shared with config validation.
    if (advert_interval_error(version, interval)) {
        return std::nullopt;
    }
    auto units = version == protocol_version::v2 ? interval.count() / 1000 : interval.count() / 10;
    return static_cast<std::uint16_t>(units);
}

std::string_view to_string(decode_error e) {
    switch (e) {
        case decode_error::too_short:
            return "too_short";
        case decode_error::bad_version:
            return "bad_version";
        case decode_error::bad_type:
            return "bad_type";
        case decode_error::v2_over_ipv6:
            return "v2_over_ipv6";
        case decode_error::address_family_mismatch:
            return "address_family_mismatch";
        case decode_error::bad_length:
            return "bad_length";
        case decode_error::bad_checksum:
            return "bad_checksum";
        case decode_error::no_addresses:
            return "no_addresses";
    }
    return "unknown";
}

std::uint16_t pseudo_header_checksum(const ip_address& ip_source, const ip_address& ip_destination,
                                     std::uint8_t protocol, std::span<const std::uint8_t> message) {
    auto sum = pseudo_header_sum(ip_source, ip_destination, protocol, message.size());
    return fold_and_complement(add_words(sum, message));
}

boost::system::result<advert, decode_error> decode(std::span<const std::uint8_t> vrrp_payload,
                                                   const ip_address& ip_source,
                                                   const ip_address& ip_destination) {
    const auto& p = vrrp_payload;
    if (p.size() < header_size) {
        return decode_error::too_short;
    }
    auto version_field = p[0] >> 4;
    if (version_field != 2 && version_field != 3) {
        return decode_error::bad_version;
    }
    auto version = static_cast<protocol_version>(version_field);
    if ((p[0] & 0x0f) != type_advertisement) {
        return decode_error::bad_type;
    }
    if (ip_source.is_v6() != ip_destination.is_v6()) {
        return decode_error::address_family_mismatch;
    }
    bool ipv6 = ip_source.is_v6();
    if (version == protocol_version::v2 && ipv6) {
        return decode_error::v2_over_ipv6;
    }
    std::size_t count = p[3];
    // Exact, as keepalived checks it ("vrrp packet too long/short"): trailing bytes would be
    // ignored by one implementation and read by another.
    if (p.size() != expected_length(version, count, ipv6)) {
        return decode_error::bad_length;
    }
    // Compare with the computed value rather than summing over the field: a sum would also accept
    // 0xffff for 0x0000 (the same number in one's complement), which no RFC 1071 sender produces
    // and which would not re-encode to the bytes received.
    if (read_u16(p, checksum_offset) != vrrp_checksum(version, p, ip_source, ip_destination)) {
        return decode_error::bad_checksum;
    }
    // RFC 5798 5.2.5 sets the minimum count to 1 and keepalived refuses a v3 instance without a
    // VIP, so a v3 advert without addresses is malformed. RFC 3768 sets no minimum and keepalived
    // runs v2 instances without VIPs (warning only), sending count 0: v2 accepts it.
    if (version == protocol_version::v3 && count == 0) {
        return decode_error::no_addresses;
    }

    advert a;
    a.version = version;
    a.virtual_router_id = p[1];
    a.priority = p[2];
    if (version == protocol_version::v2) {
        a.auth_type = p[4];
        a.max_advert_interval = p[5];
    } else {
        // The high nibble of byte 4 is reserved: ignored on reception (RFC 5798 5.2.6).
        a.max_advert_interval = read_u16(p, 4) & v3_interval_mask;
    }
    a.addresses.reserve(count);
    auto list = p.subspan(header_size, count * address_size(ipv6));
    for (std::size_t i = 0; i < count; ++i) {
        if (ipv6) {
            boost::asio::ip::address_v6::bytes_type bytes{};
            auto field = list.subspan(i * 16, 16);
            std::copy(field.begin(), field.end(), bytes.begin());
            a.addresses.emplace_back(boost::asio::ip::address_v6(bytes));
        } else {
            boost::asio::ip::address_v4::bytes_type bytes{};
            auto field = list.subspan(i * 4, 4);
            std::copy(field.begin(), field.end(), bytes.begin());
            a.addresses.emplace_back(boost::asio::ip::address_v4(bytes));
        }
    }
    if (version == protocol_version::v2) {
        auto auth = p.subspan(header_size + list.size(), v2_auth_data_size);
        std::copy(auth.begin(), auth.end(), a.auth_data.begin());
    }
    return a;
}

std::optional<std::string> advert_encode_error(const advert& a, const ip_address& ip_source,
                                               const ip_address& ip_destination) {
    bool ipv6 = ip_source.is_v6();
    if (ipv6 != ip_destination.is_v6()) {
        return "source " + vigil::to_string(ip_source) + " and destination " +
               vigil::to_string(ip_destination) + " are of different address families";
    }
    if (a.version == protocol_version::v2 && ipv6) {
        return std::string("VRRPv2 is defined for IPv4 only");
    }
    if (a.version != protocol_version::v2 && a.version != protocol_version::v3) {
        return std::string("unknown VRRP version");
    }
    if (a.addresses.size() > max_addresses) {
        return "an advert carries at most 255 addresses, got " + std::to_string(a.addresses.size());
    }
    for (const auto& address : a.addresses) {
        if (address.is_v6() != ipv6) {
            return "address " + vigil::to_string(address) +
                   " is not of the advert's address family " +
                   std::string(vigil::to_string(family_of(ip_source)));
        }
    }
    std::uint16_t limit = a.version == protocol_version::v2 ? 0xff : v3_interval_mask;
    if (a.max_advert_interval > limit) {
        return "advert interval " + std::to_string(a.max_advert_interval) +
               " does not fit its field (at most " + std::to_string(limit) + ")";
    }
    return std::nullopt;
}

std::vector<std::uint8_t> encode(const advert& a, const ip_address& ip_source,
                                 const ip_address& ip_destination) {
    if (advert_encode_error(a, ip_source, ip_destination)) {
        return {};
    }
    bool ipv6 = ip_source.is_v6();
    std::vector<std::uint8_t> out;
    out.reserve(expected_length(a.version, a.addresses.size(), ipv6));
    out.push_back(
        static_cast<std::uint8_t>(static_cast<unsigned>(a.version) << 4 | type_advertisement));
    out.push_back(a.virtual_router_id);
    out.push_back(a.priority);
    out.push_back(static_cast<std::uint8_t>(a.addresses.size()));
    if (a.version == protocol_version::v2) {
        out.push_back(a.auth_type);
        out.push_back(static_cast<std::uint8_t>(a.max_advert_interval));
    } else {
        out.push_back(static_cast<std::uint8_t>(a.max_advert_interval >> 8));
        out.push_back(static_cast<std::uint8_t>(a.max_advert_interval & 0xff));
    }
    out.push_back(0);  // checksum, filled in below
    out.push_back(0);
    for (const auto& address : a.addresses) {
        if (ipv6) {
            append(out, address.to_v6().to_bytes());
        } else {
            append(out, address.to_v4().to_bytes());
        }
    }
    if (a.version == protocol_version::v2) {
        out.insert(out.end(), a.auth_data.begin(), a.auth_data.end());
    }
    write_u16(out, checksum_offset, vrrp_checksum(a.version, out, ip_source, ip_destination));
    return out;
}

std::string_view to_string(ipv4_error e) {
    switch (e) {
        case ipv4_error::too_short:
            return "ip_too_short";
        case ipv4_error::bad_version:
            return "ip_bad_version";
        case ipv4_error::bad_header_length:
            return "ip_bad_header_length";
        case ipv4_error::bad_total_length:
            return "ip_bad_total_length";
        case ipv4_error::not_vrrp:
            return "ip_not_vrrp";
    }
    return "unknown";
}

boost::system::result<ipv4_datagram, ipv4_error> split_ipv4_datagram(
    std::span<const std::uint8_t> datagram) {
    // RFC 791 3.1: version/IHL, TOS, total length, id, flags/fragment offset, TTL, protocol,
    // header checksum, source, destination, options. The kernel has verified the header checksum
    // and reassembled fragments before a raw socket sees the datagram.
    constexpr std::size_t min_header = 20;
    const auto& d = datagram;
    if (d.size() < min_header) {
        return ipv4_error::too_short;
    }
    if (d[0] >> 4 != 4) {
        return ipv4_error::bad_version;
    }
    std::size_t header_length = static_cast<std::size_t>(d[0] & 0x0f) * 4;
    if (header_length < min_header || header_length > d.size()) {
        return ipv4_error::bad_header_length;
    }
    // Linux hands raw sockets the header with the total length as sent, in network order; a
    // mismatch means a truncated read or a forged header, and either way the payload bounds are
    // unknown.
    if (read_u16(d, 2) != d.size()) {
        return ipv4_error::bad_total_length;
    }
    if (d[9] != ip_protocol_vrrp) {
        return ipv4_error::not_vrrp;
    }
    ipv4_datagram out;
    boost::asio::ip::address_v4::bytes_type bytes{};
    std::copy(d.begin() + 12, d.begin() + 16, bytes.begin());
    out.source = boost::asio::ip::address_v4(bytes);
    std::copy(d.begin() + 16, d.begin() + 20, bytes.begin());
    out.destination = boost::asio::ip::address_v4(bytes);
    out.ttl = d[8];
    out.payload = d.subspan(header_length);
    return out;
}

}  // namespace vigil::vrrp
