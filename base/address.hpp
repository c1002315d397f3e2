#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/parse_result.hpp"

namespace vigil {

using ip_address = boost::asio::ip::address;

enum class address_family { ipv4, ipv6 };

address_family family_of(const ip_address& address);
std::string_view to_string(address_family family);

// An address and a port, written "192.0.2.1:80" or "[2001:db8::1]:80".
struct ip_endpoint {
    ip_address address;
    std::uint16_t port = 0;

    address_family family() const { return family_of(address); }
    friend bool operator==(const ip_endpoint&, const ip_endpoint&) = default;
    friend bool operator<(const ip_endpoint& a, const ip_endpoint& b) {
        if (a.address != b.address) {
            return a.address < b.address;
        }
        return a.port < b.port;
    }
};

// An address with a prefix length, written "192.0.2.1/24". The address keeps its host bits: a VIP
// is an interface address, not a network.
struct ip_prefix {
    ip_address address;
    unsigned length = 0;

    address_family family() const { return family_of(address); }
    friend bool operator==(const ip_prefix&, const ip_prefix&) = default;
};

// Strict parsers: no surrounding space, no zone ids, no IPv4-mapped tricks hidden in prefixes.
parse_result<ip_address> parse_address(std::string_view text);
parse_result<ip_endpoint> parse_endpoint(std::string_view text);
// A prefix without "/N" means a host prefix (/32 or /128), as keepalived's virtual_ipaddress does.
parse_result<ip_prefix> parse_prefix(std::string_view text);

std::string to_string(const ip_address& address);
std::string to_string(const ip_endpoint& endpoint);
std::string to_string(const ip_prefix& prefix);

}  // namespace vigil
