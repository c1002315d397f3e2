#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/address.hpp"
#include "ipvs/names.hpp"

namespace vigil::ipvs {

// How IPVS identifies a virtual service: protocol, address and port, or a firewall mark with its
// address family. Everything else about a service can be edited in place; the key cannot.
struct service_key {
    address_family family = address_family::ipv4;
    protocol proto = protocol::tcp;  // the kernel reports tcp for fwmark services
    ip_address address;              // unspecified for a fwmark service
    std::uint16_t port = 0;
    std::uint32_t fwmark = 0;  // nonzero: a firewall-mark service

    static service_key for_address(protocol p, const ip_endpoint& endpoint);
    static service_key for_fwmark(std::uint32_t mark, address_family family);
    bool is_fwmark() const { return fwmark != 0; }

    friend bool operator==(const service_key& a, const service_key& b);
    friend bool operator<(const service_key& a, const service_key& b);
};

// "tcp 192.0.2.1:80", "udp [2001:db8::1]:53", "fwmark 7 ipv4": the form the state file and the
// events use. parse_service_key reads it back.
std::string to_string(const service_key& key);
std::optional<service_key> parse_service_key(std::string_view text);

// Service flags, numbered as <linux/ip_vs.h> numbers them (netlink.cpp static_asserts that).
namespace service_flags {
inline constexpr std::uint32_t persistent = 0x0001;
inline constexpr std::uint32_t hashed = 0x0002;  // kernel bookkeeping, never compared or sent
inline constexpr std::uint32_t one_packet = 0x0004;
inline constexpr std::uint32_t sched_flag_1 = 0x0008;  // sh: fallback; mh: fallback
inline constexpr std::uint32_t sched_flag_2 = 0x0010;  // sh: port; mh: port
inline constexpr std::uint32_t sched_flag_3 = 0x0020;
// What an operator may set; the diff compares only these bits.
inline constexpr std::uint32_t user_mask =
    persistent | one_packet | sched_flag_1 | sched_flag_2 | sched_flag_3;
}  // namespace service_flags

// The kernel's connection counters and rate estimates (IPVS_STATS_ATTR_*). Dumps fill them;
// desired tables leave them zero and the diff ignores them.
struct counters {
    std::uint64_t connections = 0;
    std::uint64_t in_packets = 0;
    std::uint64_t out_packets = 0;
    std::uint64_t in_bytes = 0;
    std::uint64_t out_bytes = 0;
    std::uint64_t cps = 0;
    std::uint64_t in_pps = 0;
    std::uint64_t out_pps = 0;
    std::uint64_t in_bps = 0;
    std::uint64_t out_bps = 0;
    friend bool operator==(const counters&, const counters&) = default;
};

struct service {
    service_key key;
    std::string scheduler =
        "wlc";                  // a string: a foreign service may run a scheduler we do not name
    std::uint32_t flags = 0;    // service_flags; persistent is derived from timeout
    std::uint32_t timeout = 0;  // persistence in seconds; 0 = no persistence
    unsigned netmask = 32;      // persistence granularity as a prefix length (32 / 128 = host)
    counters stats;

    // Scheduler, user flags, timeout and netmask: what IPVS_CMD_SET_SERVICE can change.
    bool same_settings(const service& other) const;
};

// IP_VS_CONN_F_* forwarding methods. `local` and `bypass` are never asked for: the kernel turns a
// destination on one of its own addresses into `local` whatever was asked.
enum class forward_method : std::uint32_t {
    masq = 0,
    local = 1,
    tunnel = 2,
    route = 3,
    bypass = 4
};
forward_method to_forward_method(forwarding f);
std::string_view to_string(forward_method m);

struct destination {
    ip_endpoint address;
    forward_method forward = forward_method::masq;
    std::uint32_t weight = 1;           // 0 = quiesced: no new connections
    std::uint32_t upper_threshold = 0;  // 0 = unlimited
    std::uint32_t lower_threshold = 0;
    // Filled by dumps only.
    std::uint32_t active_connections = 0;
    std::uint32_t inactive_connections = 0;
    std::uint32_t persistent_connections = 0;
    counters stats;

    // Forwarding, weight and thresholds: what IPVS_CMD_SET_DEST can change.
    bool same_settings(const destination& other) const;
};

struct service_entry {
    service settings;
    std::map<ip_endpoint, destination> destinations;
};

// A whole IPVS table (or the part of it vigil wants), ordered so dumps and diffs are stable.
using table = std::map<service_key, service_entry>;

inline unsigned host_prefix(address_family f) {
    return f == address_family::ipv4 ? 32 : 128;
}

}  // namespace vigil::ipvs
