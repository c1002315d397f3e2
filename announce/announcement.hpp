#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/address.hpp"

namespace vigil::announce {

// A BGP community vigil attaches to a route: standard (two 16-bit halves, "65001:100") or large
// (three 32-bit parts, "65001:1:2", RFC 8092).
struct community {
    std::uint32_t global = 0;
    std::uint32_t local1 = 0;
    std::uint32_t local2 = 0;
    bool large = false;
    friend bool operator==(const community&, const community&) = default;
};

// Parses "a:b" (each 0-65535) or "a:b:c" (each 0-4294967295); false when malformed.
bool parse_community(const std::string& text, community& out);
std::string to_string(const community& c);

// One prefix this director may announce, as the config asks for it. `protocol` is the name of the
// BIRD static protocol that carries it ("vigil_web"); it is what `show protocols` reports.
struct announcement_spec {
    std::string protocol;
    ip_prefix prefix;
    // The virtual servers whose health decides it (several may share one VIP).
    std::vector<std::string> virtual_servers;
    std::uint32_t med = 0;
    // Added to the MED per real server of those virtual servers that is down or drained, so a
    // director with fewer healthy real servers draws less traffic (lower MED wins).
    std::uint32_t med_per_down_server = 0;
    std::vector<community> communities;
    friend bool operator==(const announcement_spec&, const announcement_spec&) = default;
};

// Whether `address` lies inside `prefix` (same family, the first `length` bits equal).
bool prefix_contains(const ip_prefix& prefix, const ip_address& address);
// Whether the prefix has no bits set past its length, as BIRD requires of a route.
bool is_network(const ip_prefix& prefix);

// A BIRD symbol made of the virtual server's name: letters, digits and '_' only.
std::string protocol_name(const std::string& virtual_server);

}  // namespace vigil::announce
