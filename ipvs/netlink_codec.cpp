#include "ipvs/netlink_codec.hpp"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace vigil::ipvs {

// The model numbers flags and forwarding methods as the kernel does; keep them honest.
static_assert(service_flags::persistent == IP_VS_SVC_F_PERSISTENT);
static_assert(service_flags::hashed == IP_VS_SVC_F_HASHED);
static_assert(service_flags::one_packet == IP_VS_SVC_F_ONEPACKET);
static_assert(service_flags::sched_flag_1 == IP_VS_SVC_F_SCHED1);
static_assert(service_flags::sched_flag_2 == IP_VS_SVC_F_SCHED2);
static_assert(service_flags::sched_flag_3 == IP_VS_SVC_F_SCHED3);
static_assert(static_cast<std::uint32_t>(forward_method::masq) == IP_VS_CONN_F_MASQ);
static_assert(static_cast<std::uint32_t>(forward_method::local) == IP_VS_CONN_F_LOCALNODE);
static_assert(static_cast<std::uint32_t>(forward_method::tunnel) == IP_VS_CONN_F_TUNNEL);
static_assert(static_cast<std::uint32_t>(forward_method::route) == IP_VS_CONN_F_DROUTE);
static_assert(static_cast<std::uint32_t>(forward_method::bypass) == IP_VS_CONN_F_BYPASS);
static_assert(static_cast<std::uint32_t>(sync_role::master) == IP_VS_STATE_MASTER);
static_assert(static_cast<std::uint32_t>(sync_role::backup) == IP_VS_STATE_BACKUP);

using netlink::attribute_set;
using netlink::byte_view;
using netlink::message_builder;

namespace {

// union nf_inet_addr: what the kernel sends and expects for every service and destination
// address, an IPv4 address in its first four bytes.
constexpr std::size_t inet_address_size = 16;
static_assert(sizeof(ip_vs_flags) == 8);

std::uint16_t family_constant(address_family f) {
    return f == address_family::ipv4 ? AF_INET : AF_INET6;
}

std::optional<address_family> family_from(std::uint16_t af) {
    if (af == AF_INET) {
        return address_family::ipv4;
    }
    if (af == AF_INET6) {
        return address_family::ipv6;
    }
    return std::nullopt;
}

std::array<std::uint8_t, inet_address_size> address_bytes(const ip_address& a) {
    std::array<std::uint8_t, inet_address_size> out{};
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), out.begin());
    } else {
        auto b = a.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), out.begin());
    }
    return out;
}

// A nf_inet_addr (or, for an IPv4 multicast group, a bare in_addr) of the given family.
std::optional<ip_address> address_from(byte_view value, address_family family) {
    if (family == address_family::ipv4 &&
        (value.size() == 4 || value.size() == inet_address_size)) {
        boost::asio::ip::address_v4::bytes_type b{};
        std::copy_n(value.begin(), b.size(), b.begin());
        return ip_address(boost::asio::ip::address_v4(b));
    }
    if (family == address_family::ipv6 && value.size() == inet_address_size) {
        boost::asio::ip::address_v6::bytes_type b{};
        std::copy_n(value.begin(), b.size(), b.begin());
        return ip_address(boost::asio::ip::address_v6(b));
    }
    return std::nullopt;
}

std::uint32_t v4_mask(unsigned prefix) {
    return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - std::min(prefix, 32U));
}

// Reads an optional fixed-size attribute into `out`. Absent leaves `out` alone; present with the
// wrong size is a malformed entry (false).
template <typename T>
bool read_optional(const attribute_set& set, std::uint16_t type, T& out) {
    auto value = set.find(type);
    if (!value) {
        return true;
    }
    std::optional<T> read;
    if constexpr (sizeof(T) == 1) {
        read = netlink::read_u8(*value);
    } else if constexpr (sizeof(T) == 2) {
        read = netlink::read_u16(*value);
    } else if constexpr (sizeof(T) == 4) {
        read = netlink::read_u32(*value);
    } else {
        read = netlink::read_u64(*value);
    }
    if (!read) {
        return false;
    }
    out = *read;
    return true;
}

// The nest `type` among a reply's top-level attributes, parsed with its own attribute numbers.
std::optional<attribute_set> nested(byte_view attributes, std::uint16_t type,
                                    std::uint16_t max_type) {
    auto top = attribute_set::parse(attributes, IPVS_CMD_ATTR_MAX);
    if (!top) {
        return std::nullopt;
    }
    auto nest = top->find(type);
    if (!nest) {
        return std::nullopt;
    }
    return attribute_set::parse(*nest, max_type);
}

// IPVS_STATS_ATTR_*: STATS64 carries every value as u64 (Linux 4.x+); the older STATS carries
// packet and connection counts and rates as u32, byte counts as u64.
std::optional<counters> decode_stats(const std::optional<byte_view>& stats64,
                                     const std::optional<byte_view>& stats32) {
    counters c;
    const auto& nest = stats64 ? stats64 : stats32;
    if (!nest) {
        return c;
    }
    auto set = attribute_set::parse(*nest, IPVS_STATS_ATTR_MAX);
    if (!set) {
        return std::nullopt;
    }
    bool ok = true;
    auto get = [&](std::uint16_t type, std::uint64_t& out) {
        auto value = set->find(type);
        if (!value) {
            return;
        }
        if (auto wide = netlink::read_u64(*value)) {
            out = *wide;
        } else if (auto narrow = netlink::read_u32(*value)) {
            out = *narrow;
        } else {
            ok = false;
        }
    };
    get(IPVS_STATS_ATTR_CONNS, c.connections);
    get(IPVS_STATS_ATTR_INPKTS, c.in_packets);
    get(IPVS_STATS_ATTR_OUTPKTS, c.out_packets);
    get(IPVS_STATS_ATTR_INBYTES, c.in_bytes);
    get(IPVS_STATS_ATTR_OUTBYTES, c.out_bytes);
    get(IPVS_STATS_ATTR_CPS, c.cps);
    get(IPVS_STATS_ATTR_INPPS, c.in_pps);
    get(IPVS_STATS_ATTR_OUTPPS, c.out_pps);
    get(IPVS_STATS_ATTR_INBPS, c.in_bps);
    get(IPVS_STATS_ATTR_OUTBPS, c.out_bps);
    if (!ok) {
        return std::nullopt;
    }
    return c;
}

// Writes the identifying attributes (and with `full`, the settings) of a service.
void put_service(message_builder& m, const service& s, bool full) {
    auto nest = m.begin_nest(IPVS_CMD_ATTR_SERVICE);
    const auto& k = s.key;
    std::uint16_t af = family_constant(k.family);
    m.put_u16(IPVS_SVC_ATTR_AF, af);
    if (k.is_fwmark()) {
        m.put_u32(IPVS_SVC_ATTR_FWMARK, k.fwmark);
    } else {
        m.put_u16(IPVS_SVC_ATTR_PROTOCOL, static_cast<std::uint16_t>(k.proto));
        m.put_bytes(IPVS_SVC_ATTR_ADDR, address_bytes(k.address));
        m.put_u16(IPVS_SVC_ATTR_PORT, htons(k.port));
    }
    if (full) {
        // Only the operator's bits: HASHED is the kernel's, and sending it set on an add would
        // make the kernel believe the service is already hashed.
        ip_vs_flags f{s.flags & service_flags::user_mask, service_flags::user_mask};
        std::array<std::uint8_t, sizeof f> raw{};
        std::memcpy(raw.data(), &f, sizeof f);
        // IPv4: a network-order mask (ipvsadm -M 255.255.255.0); IPv6: a prefix length.
        std::uint32_t netmask = af == AF_INET ? htonl(v4_mask(s.netmask)) : s.netmask;
        m.put_string(IPVS_SVC_ATTR_SCHED_NAME, s.scheduler);
        m.put_bytes(IPVS_SVC_ATTR_FLAGS, raw);
        m.put_u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
        m.put_u32(IPVS_SVC_ATTR_NETMASK, netmask);
    }
    m.end_nest(nest);
}

void put_destination(message_builder& m, const destination& d, bool full) {
    auto nest = m.begin_nest(IPVS_CMD_ATTR_DEST);
    m.put_bytes(IPVS_DEST_ATTR_ADDR, address_bytes(d.address.address));
    m.put_u16(IPVS_DEST_ATTR_PORT, htons(d.address.port));
    m.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, family_constant(d.address.family()));
    if (full) {
        m.put_u32(IPVS_DEST_ATTR_FWD_METHOD, static_cast<std::uint32_t>(d.forward));
        m.put_u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
        m.put_u32(IPVS_DEST_ATTR_U_THRESH, d.upper_threshold);
        m.put_u32(IPVS_DEST_ATTR_L_THRESH, d.lower_threshold);
    }
    m.end_nest(nest);
}

void put_daemon(message_builder& m, const sync_daemon& d, bool full) {
    auto nest = m.begin_nest(IPVS_CMD_ATTR_DAEMON);
    m.put_u32(IPVS_DAEMON_ATTR_STATE, static_cast<std::uint32_t>(d.role));
    if (full) {
        m.put_string(IPVS_DAEMON_ATTR_MCAST_IFN, d.interface);
        m.put_u32(IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id);
        if (d.max_len) {
            m.put_u16(IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.max_len);
        }
        if (d.group && d.group->is_v4()) {
            m.put_bytes(IPVS_DAEMON_ATTR_MCAST_GROUP, d.group->to_v4().to_bytes());
        } else if (d.group) {
            m.put_bytes(IPVS_DAEMON_ATTR_MCAST_GROUP6, d.group->to_v6().to_bytes());
        }
        if (d.port) {
            m.put_u16(IPVS_DAEMON_ATTR_MCAST_PORT, d.port);
        }
        if (d.ttl) {
            m.put_u8(IPVS_DAEMON_ATTR_MCAST_TTL, d.ttl);
        }
    }
    m.end_nest(nest);
}

std::uint8_t command_for(op_kind kind) {
    switch (kind) {
        case op_kind::add_service:
            return IPVS_CMD_NEW_SERVICE;
        case op_kind::edit_service:
            return IPVS_CMD_SET_SERVICE;
        case op_kind::delete_service:
            return IPVS_CMD_DEL_SERVICE;
        case op_kind::add_destination:
            return IPVS_CMD_NEW_DEST;
        case op_kind::edit_destination:
            return IPVS_CMD_SET_DEST;
        case op_kind::delete_destination:
            return IPVS_CMD_DEL_DEST;
    }
    return IPVS_CMD_UNSPEC;
}

// Every command asks for an acknowledgement: it carries the kernel's errno, 0 for done.
message_builder command(std::uint16_t family, std::uint8_t cmd) {
    return message_builder(family, cmd, IPVS_GENL_VERSION, NLM_F_ACK);
}

// A dump ends in NLMSG_DONE, which carries a failure too; an acknowledgement would add nothing.
message_builder dump_request(std::uint16_t family, std::uint8_t cmd) {
    return message_builder(family, cmd, IPVS_GENL_VERSION, NLM_F_DUMP);
}

}  // namespace

std::string version_string(std::uint32_t version) {
    return std::to_string((version >> 16) & 0xff) + "." + std::to_string((version >> 8) & 0xff) +
           "." + std::to_string(version & 0xff);
}

std::optional<netlink::bytes> encode_operation(std::uint16_t family, const operation& op) {
    auto m = command(family, command_for(op.kind));
    switch (op.kind) {
        case op_kind::add_service:
        case op_kind::edit_service:
            put_service(m, op.svc, true);
            break;
        case op_kind::delete_service:
            put_service(m, op.svc, false);
            break;
        case op_kind::add_destination:
        case op_kind::edit_destination:
            put_service(m, op.svc, false);
            put_destination(m, op.dest, true);
            break;
        case op_kind::delete_destination:
            put_service(m, op.svc, false);
            put_destination(m, op.dest, false);
            break;
    }
    return std::move(m).finish();
}

std::optional<netlink::bytes> encode_service_dump(std::uint16_t family) {
    return dump_request(family, IPVS_CMD_GET_SERVICE).finish();
}

std::optional<netlink::bytes> encode_destination_dump(std::uint16_t family, const service& owner) {
    auto m = dump_request(family, IPVS_CMD_GET_DEST);
    put_service(m, owner, false);
    return std::move(m).finish();
}

std::optional<netlink::bytes> encode_info_request(std::uint16_t family) {
    return command(family, IPVS_CMD_GET_INFO).finish();
}

std::optional<netlink::bytes> encode_daemon_dump(std::uint16_t family) {
    return dump_request(family, IPVS_CMD_GET_DAEMON).finish();
}

std::optional<netlink::bytes> encode_daemon_start(std::uint16_t family, const sync_daemon& daemon) {
    auto m = command(family, IPVS_CMD_NEW_DAEMON);
    put_daemon(m, daemon, true);
    return std::move(m).finish();
}

std::optional<netlink::bytes> encode_daemon_stop(std::uint16_t family, sync_role role) {
    auto m = command(family, IPVS_CMD_DEL_DAEMON);
    sync_daemon d;
    d.role = role;
    put_daemon(m, d, false);
    return std::move(m).finish();
}

std::optional<service> decode_service(byte_view attributes) {
    auto set = nested(attributes, IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
    if (!set) {
        return std::nullopt;
    }
    std::uint16_t af = 0;
    if (!set->has(IPVS_SVC_ATTR_AF) || !read_optional(*set, IPVS_SVC_ATTR_AF, af)) {
        return std::nullopt;
    }
    auto family = family_from(af);
    if (!family) {
        return std::nullopt;
    }
    service s;
    std::uint32_t mark = 0;
    if (!read_optional(*set, IPVS_SVC_ATTR_FWMARK, mark)) {
        return std::nullopt;
    }
    if (mark != 0) {
        s.key = service_key::for_fwmark(mark, *family);
    } else {
        auto address_attribute = set->find(IPVS_SVC_ATTR_ADDR);
        auto address = address_attribute ? address_from(*address_attribute, *family) : std::nullopt;
        std::uint16_t proto = 0;
        std::uint16_t port = 0;
        if (!address || !set->has(IPVS_SVC_ATTR_PROTOCOL) || !set->has(IPVS_SVC_ATTR_PORT) ||
            !read_optional(*set, IPVS_SVC_ATTR_PROTOCOL, proto) ||
            !read_optional(*set, IPVS_SVC_ATTR_PORT, port)) {
            return std::nullopt;
        }
        s.key = service_key::for_address(static_cast<protocol>(proto), {*address, ntohs(port)});
    }
    if (auto name = set->find(IPVS_SVC_ATTR_SCHED_NAME)) {
        s.scheduler = std::string(netlink::read_string(*name));
    }
    if (auto raw = set->find(IPVS_SVC_ATTR_FLAGS)) {
        if (raw->size() != sizeof(ip_vs_flags)) {
            return std::nullopt;
        }
        ip_vs_flags f{};
        std::memcpy(&f, raw->data(), sizeof f);
        s.flags = f.flags;
    }
    s.timeout = 0;
    if (!read_optional(*set, IPVS_SVC_ATTR_TIMEOUT, s.timeout)) {
        return std::nullopt;
    }
    s.netmask = host_prefix(*family);
    if (set->has(IPVS_SVC_ATTR_NETMASK)) {
        std::uint32_t raw = 0;
        if (!read_optional(*set, IPVS_SVC_ATTR_NETMASK, raw)) {
            return std::nullopt;
        }
        if (*family == address_family::ipv4) {
            s.netmask = static_cast<unsigned>(std::popcount(ntohl(raw)));
        } else if (raw <= 128) {
            s.netmask = raw;
        } else {
            return std::nullopt;
        }
    }
    auto stats = decode_stats(set->find(IPVS_SVC_ATTR_STATS64), set->find(IPVS_SVC_ATTR_STATS));
    if (!stats) {
        return std::nullopt;
    }
    s.stats = *stats;
    return s;
}

std::optional<destination> decode_destination(byte_view attributes, address_family service_family) {
    auto set = nested(attributes, IPVS_CMD_ATTR_DEST, IPVS_DEST_ATTR_MAX);
    if (!set) {
        return std::nullopt;
    }
    std::uint16_t af = family_constant(service_family);
    if (!read_optional(*set, IPVS_DEST_ATTR_ADDR_FAMILY, af)) {
        return std::nullopt;
    }
    auto family = family_from(af);
    auto address_attribute = set->find(IPVS_DEST_ATTR_ADDR);
    if (!family || !address_attribute) {
        return std::nullopt;
    }
    auto address = address_from(*address_attribute, *family);
    std::uint16_t port = 0;
    if (!address || !set->has(IPVS_DEST_ATTR_PORT) ||
        !read_optional(*set, IPVS_DEST_ATTR_PORT, port)) {
        return std::nullopt;
    }
    destination d;
    d.address = {*address, ntohs(port)};
    std::uint32_t forward = 0;
    d.weight = 0;
    if (!read_optional(*set, IPVS_DEST_ATTR_FWD_METHOD, forward) ||
        !read_optional(*set, IPVS_DEST_ATTR_WEIGHT, d.weight) ||
        !read_optional(*set, IPVS_DEST_ATTR_U_THRESH, d.upper_threshold) ||
        !read_optional(*set, IPVS_DEST_ATTR_L_THRESH, d.lower_threshold) ||
        !read_optional(*set, IPVS_DEST_ATTR_ACTIVE_CONNS, d.active_connections) ||
        !read_optional(*set, IPVS_DEST_ATTR_INACT_CONNS, d.inactive_connections) ||
        !read_optional(*set, IPVS_DEST_ATTR_PERSIST_CONNS, d.persistent_connections)) {
        return std::nullopt;
    }
    forward &= IP_VS_CONN_F_FWD_MASK;
    if (forward > static_cast<std::uint32_t>(forward_method::bypass)) {
        return std::nullopt;
    }
    d.forward = static_cast<forward_method>(forward);
    auto stats = decode_stats(set->find(IPVS_DEST_ATTR_STATS64), set->find(IPVS_DEST_ATTR_STATS));
    if (!stats) {
        return std::nullopt;
    }
    d.stats = *stats;
    return d;
}

std::optional<sync_daemon> decode_daemon(byte_view attributes) {
    auto set = nested(attributes, IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_MAX);
    if (!set) {
        return std::nullopt;
    }
    std::uint32_t state = 0;
    auto interface = set->find(IPVS_DAEMON_ATTR_MCAST_IFN);
    if (!set->has(IPVS_DAEMON_ATTR_STATE) || !interface ||
        !read_optional(*set, IPVS_DAEMON_ATTR_STATE, state) ||
        (state != IP_VS_STATE_MASTER && state != IP_VS_STATE_BACKUP)) {
        return std::nullopt;
    }
    sync_daemon d;
    d.role = static_cast<sync_role>(state);
    d.interface = std::string(netlink::read_string(*interface));
    if (!read_optional(*set, IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id) ||
        !read_optional(*set, IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.max_len) ||
        !read_optional(*set, IPVS_DAEMON_ATTR_MCAST_PORT, d.port) ||
        !read_optional(*set, IPVS_DAEMON_ATTR_MCAST_TTL, d.ttl)) {
        return std::nullopt;
    }
    if (auto group = set->find(IPVS_DAEMON_ATTR_MCAST_GROUP)) {
        if (group->size() != 4) {
            return std::nullopt;
        }
        d.group = address_from(*group, address_family::ipv4);
    } else if (auto group6 = set->find(IPVS_DAEMON_ATTR_MCAST_GROUP6)) {
        d.group = address_from(*group6, address_family::ipv6);
        if (!d.group) {
            return std::nullopt;
        }
    }
    return d;
}

std::optional<kernel_info> decode_info(byte_view attributes) {
    auto set = attribute_set::parse(attributes, IPVS_INFO_ATTR_MAX);
    if (!set) {
        return std::nullopt;
    }
    auto version = set->find(IPVS_INFO_ATTR_VERSION);
    auto size = set->find(IPVS_INFO_ATTR_CONN_TAB_SIZE);
    if (!version || !size) {
        return std::nullopt;
    }
    auto v = netlink::read_u32(*version);
    auto s = netlink::read_u32(*size);
    if (!v || !s) {
        return std::nullopt;
    }
    return kernel_info{*v, *s};
}

}  // namespace vigil::ipvs
