#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace vigil::checkers {

// ICMP and ICMPv6 echo messages (RFC 792, RFC 4443) as the icmp check sends and reads them. Pure:
// the shared ICMP socket does the I/O.

enum class icmp_version { v4, v6 };

// An echo request with `payload`. IPv4 carries its checksum; ICMPv6's covers the IPv6
// pseudo-header, which the kernel fills in on both ping and raw sockets, so it is left 0.
std::vector<std::uint8_t> encode_echo_request(icmp_version version, std::uint16_t id,
                                              std::uint16_t sequence,
                                              std::span<const std::uint8_t> payload);

struct echo_reply {
    std::uint16_t id = 0;
    std::uint16_t sequence = 0;
};

// The echo reply in `packet`, or nothing when it is anything else (requests, errors, truncated or
// malformed data). A raw IPv4 socket hands over the IP header too (`with_ip_header`); it is
// skipped by its own length field.
std::optional<echo_reply> decode_echo_reply(icmp_version version,
                                            std::span<const std::uint8_t> packet,
                                            bool with_ip_header);

// The Internet checksum (RFC 1071) of `data`.
std::uint16_t internet_checksum(std::span<const std::uint8_t> data);

}  // namespace vigil::checkers
