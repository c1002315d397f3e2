#include "ipvs/netlink_backend.hpp"

#include <arpa/inet.h>
#include <linux/ip_vs.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <functional>

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

namespace {

std::error_code errno_code(int e) {
    return {e, std::generic_category()};
}

boost::system::error_code boost_errno(int e) {
    return {e, boost::system::generic_category()};
}

// libnl returns its own NLE_* codes; the kernel's errno is what operators look up.
int errno_from_nl(int nl_error) {
    switch (-nl_error) {
        case NLE_NOMEM:
            return ENOMEM;
        case NLE_PERM:
            return EPERM;
        case NLE_EXIST:
            return EEXIST;
        case NLE_OBJ_NOTFOUND:
            return ENOENT;
        case NLE_INVAL:
            return EINVAL;
        case NLE_AGAIN:
            return EAGAIN;
        case NLE_BUSY:
            return EBUSY;
        case NLE_RANGE:
            return ERANGE;
        case NLE_NODEV:
            return ENODEV;
        default:
            return EIO;
    }
}

struct msg_ref {
    nl_msg* p = nlmsg_alloc();
    msg_ref() = default;
    msg_ref(const msg_ref&) = delete;
    msg_ref& operator=(const msg_ref&) = delete;
    ~msg_ref() {
        if (p) {
            nlmsg_free(p);
        }
    }
};

struct cb_ref {
    nl_cb* p = nl_cb_alloc(NL_CB_DEFAULT);
    cb_ref() = default;
    cb_ref(const cb_ref&) = delete;
    cb_ref& operator=(const cb_ref&) = delete;
    ~cb_ref() {
        if (p) {
            nl_cb_put(p);
        }
    }
};

int family_constant(address_family f) {
    return f == address_family::ipv4 ? AF_INET : AF_INET6;
}

// union nf_inet_addr: 16 bytes, an IPv4 address in the first four, as ipvsadm sends it.
std::array<std::uint8_t, 16> address_bytes(const ip_address& a) {
    std::array<std::uint8_t, 16> out{};
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        std::memcpy(out.data(), b.data(), b.size());
    } else {
        auto b = a.to_v6().to_bytes();
        std::memcpy(out.data(), b.data(), b.size());
    }
    return out;
}

std::optional<ip_address> address_from(const nlattr* attr, int family) {
    if (!attr) {
        return std::nullopt;
    }
    auto length = nla_len(attr);
    const auto* data = static_cast<const std::uint8_t*>(nla_data(attr));
    if (family == AF_INET && length >= 4) {
        boost::asio::ip::address_v4::bytes_type b{};
        std::memcpy(b.data(), data, 4);
        return ip_address(boost::asio::ip::address_v4(b));
    }
    if (family == AF_INET6 && length >= 16) {
        boost::asio::ip::address_v6::bytes_type b{};
        std::memcpy(b.data(), data, 16);
        return ip_address(boost::asio::ip::address_v6(b));
    }
    return std::nullopt;
}

std::uint32_t v4_mask(unsigned prefix) {
    return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - std::min(prefix, 32U));
}

// The kernel's macros (nla_for_each_*, NLA_* helpers in libnl) expand to C casts; silence the
// warnings for the attribute code only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wconversion"

template <std::size_t N>
using policy_table = std::array<nla_policy, N>;

const nla_policy* service_policy() {
    static const auto table = [] {
        policy_table<IPVS_SVC_ATTR_MAX + 1> p{};
        p[IPVS_SVC_ATTR_AF].type = NLA_U16;
        p[IPVS_SVC_ATTR_PROTOCOL].type = NLA_U16;
        p[IPVS_SVC_ATTR_ADDR].type = NLA_UNSPEC;
        p[IPVS_SVC_ATTR_PORT].type = NLA_U16;
        p[IPVS_SVC_ATTR_FWMARK].type = NLA_U32;
        p[IPVS_SVC_ATTR_SCHED_NAME].type = NLA_STRING;
        p[IPVS_SVC_ATTR_FLAGS].minlen = sizeof(ip_vs_flags);
        p[IPVS_SVC_ATTR_TIMEOUT].type = NLA_U32;
        p[IPVS_SVC_ATTR_NETMASK].type = NLA_U32;
        p[IPVS_SVC_ATTR_STATS].type = NLA_NESTED;
        p[IPVS_SVC_ATTR_STATS64].type = NLA_NESTED;
        return p;
    }();
    return table.data();
}

const nla_policy* destination_policy() {
    static const auto table = [] {
        policy_table<IPVS_DEST_ATTR_MAX + 1> p{};
        p[IPVS_DEST_ATTR_PORT].type = NLA_U16;
        p[IPVS_DEST_ATTR_FWD_METHOD].type = NLA_U32;
        p[IPVS_DEST_ATTR_WEIGHT].type = NLA_U32;
        p[IPVS_DEST_ATTR_U_THRESH].type = NLA_U32;
        p[IPVS_DEST_ATTR_L_THRESH].type = NLA_U32;
        p[IPVS_DEST_ATTR_ACTIVE_CONNS].type = NLA_U32;
        p[IPVS_DEST_ATTR_INACT_CONNS].type = NLA_U32;
        p[IPVS_DEST_ATTR_PERSIST_CONNS].type = NLA_U32;
        p[IPVS_DEST_ATTR_STATS].type = NLA_NESTED;
        p[IPVS_DEST_ATTR_STATS64].type = NLA_NESTED;
        p[IPVS_DEST_ATTR_ADDR_FAMILY].type = NLA_U16;
        return p;
    }();
    return table.data();
}

const nla_policy* daemon_policy() {
    static const auto table = [] {
        policy_table<IPVS_DAEMON_ATTR_MAX + 1> p{};
        p[IPVS_DAEMON_ATTR_STATE].type = NLA_U32;
        p[IPVS_DAEMON_ATTR_MCAST_IFN].type = NLA_STRING;
        p[IPVS_DAEMON_ATTR_SYNC_ID].type = NLA_U32;
        p[IPVS_DAEMON_ATTR_SYNC_MAXLEN].type = NLA_U16;
        p[IPVS_DAEMON_ATTR_MCAST_GROUP].type = NLA_U32;
        p[IPVS_DAEMON_ATTR_MCAST_PORT].type = NLA_U16;
        p[IPVS_DAEMON_ATTR_MCAST_TTL].type = NLA_U8;
        return p;
    }();
    return table.data();
}

// IPVS_STATS_ATTR_*: STATS64 carries 64-bit values (Linux 4.x+), the older STATS 32-bit rates.
counters parse_stats(nlattr* stats64, nlattr* stats32) {
    counters c;
    nlattr* nest = stats64 ? stats64 : stats32;
    if (!nest) {
        return c;
    }
    std::array<nlattr*, IPVS_STATS_ATTR_MAX + 1> tb{};
    if (nla_parse_nested(tb.data(), IPVS_STATS_ATTR_MAX, nest, nullptr) < 0) {
        return c;
    }
    auto get = [&](int id) -> std::uint64_t {
        nlattr* a = tb[static_cast<std::size_t>(id)];
        if (!a) {
            return 0;
        }
        if (nla_len(a) >= 8) {
            return nla_get_u64(a);
        }
        if (nla_len(a) >= 4) {
            return nla_get_u32(a);
        }
        return 0;
    };
    c.connections = get(IPVS_STATS_ATTR_CONNS);
    c.in_packets = get(IPVS_STATS_ATTR_INPKTS);
    c.out_packets = get(IPVS_STATS_ATTR_OUTPKTS);
    c.in_bytes = get(IPVS_STATS_ATTR_INBYTES);
    c.out_bytes = get(IPVS_STATS_ATTR_OUTBYTES);
    c.cps = get(IPVS_STATS_ATTR_CPS);
    c.in_pps = get(IPVS_STATS_ATTR_INPPS);
    c.out_pps = get(IPVS_STATS_ATTR_OUTPPS);
    c.in_bps = get(IPVS_STATS_ATTR_INBPS);
    c.out_bps = get(IPVS_STATS_ATTR_OUTBPS);
    return c;
}

std::optional<service> parse_service(nlattr* nest) {
    std::array<nlattr*, IPVS_SVC_ATTR_MAX + 1> tb{};
    if (!nest || nla_parse_nested(tb.data(), IPVS_SVC_ATTR_MAX, nest,
                                  const_cast<nla_policy*>(service_policy())) < 0) {
        return std::nullopt;
    }
    if (!tb[IPVS_SVC_ATTR_AF]) {
        return std::nullopt;
    }
    int af = nla_get_u16(tb[IPVS_SVC_ATTR_AF]);
    if (af != AF_INET && af != AF_INET6) {
        return std::nullopt;
    }
    auto family = af == AF_INET ? address_family::ipv4 : address_family::ipv6;
    service s;
    std::uint32_t mark = tb[IPVS_SVC_ATTR_FWMARK] ? nla_get_u32(tb[IPVS_SVC_ATTR_FWMARK]) : 0;
    if (mark != 0) {
        s.key = service_key::for_fwmark(mark, family);
    } else {
        auto address = address_from(tb[IPVS_SVC_ATTR_ADDR], af);
        if (!address || !tb[IPVS_SVC_ATTR_PROTOCOL] || !tb[IPVS_SVC_ATTR_PORT]) {
            return std::nullopt;
        }
        auto proto = static_cast<protocol>(nla_get_u16(tb[IPVS_SVC_ATTR_PROTOCOL]));
        s.key =
            service_key::for_address(proto, {*address, ntohs(nla_get_u16(tb[IPVS_SVC_ATTR_PORT]))});
    }
    if (tb[IPVS_SVC_ATTR_SCHED_NAME]) {
        s.scheduler = nla_get_string(tb[IPVS_SVC_ATTR_SCHED_NAME]);
    }
    if (tb[IPVS_SVC_ATTR_FLAGS]) {
        ip_vs_flags f{};
        nla_memcpy(&f, tb[IPVS_SVC_ATTR_FLAGS], sizeof f);
        s.flags = f.flags;
    }
    s.timeout = tb[IPVS_SVC_ATTR_TIMEOUT] ? nla_get_u32(tb[IPVS_SVC_ATTR_TIMEOUT]) : 0;
    if (tb[IPVS_SVC_ATTR_NETMASK]) {
        std::uint32_t raw = nla_get_u32(tb[IPVS_SVC_ATTR_NETMASK]);
        // IPv4: a network-order mask (ipvsadm -M 255.255.255.0); IPv6: a prefix length.
        s.netmask = af == AF_INET ? static_cast<unsigned>(std::popcount(ntohl(raw))) : raw;
    } else {
        s.netmask = host_prefix(family);
    }
    s.stats = parse_stats(tb[IPVS_SVC_ATTR_STATS64], tb[IPVS_SVC_ATTR_STATS]);
    return s;
}

std::optional<destination> parse_destination(nlattr* nest, int service_af) {
    std::array<nlattr*, IPVS_DEST_ATTR_MAX + 1> tb{};
    if (!nest || nla_parse_nested(tb.data(), IPVS_DEST_ATTR_MAX, nest,
                                  const_cast<nla_policy*>(destination_policy())) < 0) {
        return std::nullopt;
    }
    int af =
        tb[IPVS_DEST_ATTR_ADDR_FAMILY] ? nla_get_u16(tb[IPVS_DEST_ATTR_ADDR_FAMILY]) : service_af;
    auto address = address_from(tb[IPVS_DEST_ATTR_ADDR], af);
    if (!address || !tb[IPVS_DEST_ATTR_PORT]) {
        return std::nullopt;
    }
    destination d;
    d.address = {*address, ntohs(nla_get_u16(tb[IPVS_DEST_ATTR_PORT]))};
    auto u32 = [&](int id) -> std::uint32_t {
        nlattr* a = tb[static_cast<std::size_t>(id)];
        return a ? nla_get_u32(a) : 0;
    };
    d.forward = static_cast<forward_method>(u32(IPVS_DEST_ATTR_FWD_METHOD) & IP_VS_CONN_F_FWD_MASK);
    d.weight = u32(IPVS_DEST_ATTR_WEIGHT);
    d.upper_threshold = u32(IPVS_DEST_ATTR_U_THRESH);
    d.lower_threshold = u32(IPVS_DEST_ATTR_L_THRESH);
    d.active_connections = u32(IPVS_DEST_ATTR_ACTIVE_CONNS);
    d.inactive_connections = u32(IPVS_DEST_ATTR_INACT_CONNS);
    d.persistent_connections = u32(IPVS_DEST_ATTR_PERSIST_CONNS);
    d.stats = parse_stats(tb[IPVS_DEST_ATTR_STATS64], tb[IPVS_DEST_ATTR_STATS]);
    return d;
}

std::optional<sync_daemon> parse_daemon(nlattr* nest) {
    std::array<nlattr*, IPVS_DAEMON_ATTR_MAX + 1> tb{};
    if (!nest || nla_parse_nested(tb.data(), IPVS_DAEMON_ATTR_MAX, nest,
                                  const_cast<nla_policy*>(daemon_policy())) < 0) {
        return std::nullopt;
    }
    if (!tb[IPVS_DAEMON_ATTR_STATE] || !tb[IPVS_DAEMON_ATTR_MCAST_IFN]) {
        return std::nullopt;
    }
    sync_daemon d;
    d.role = static_cast<sync_role>(nla_get_u32(tb[IPVS_DAEMON_ATTR_STATE]));
    d.interface = nla_get_string(tb[IPVS_DAEMON_ATTR_MCAST_IFN]);
    d.sync_id = tb[IPVS_DAEMON_ATTR_SYNC_ID] ? nla_get_u32(tb[IPVS_DAEMON_ATTR_SYNC_ID]) : 0;
    if (tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN]) {
        d.max_len = nla_get_u16(tb[IPVS_DAEMON_ATTR_SYNC_MAXLEN]);
    }
    if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP]) {
        d.group = address_from(tb[IPVS_DAEMON_ATTR_MCAST_GROUP], AF_INET);
    } else if (tb[IPVS_DAEMON_ATTR_MCAST_GROUP6]) {
        d.group = address_from(tb[IPVS_DAEMON_ATTR_MCAST_GROUP6], AF_INET6);
    }
    if (tb[IPVS_DAEMON_ATTR_MCAST_PORT]) {
        d.port = nla_get_u16(tb[IPVS_DAEMON_ATTR_MCAST_PORT]);
    }
    if (tb[IPVS_DAEMON_ATTR_MCAST_TTL]) {
        d.ttl = nla_get_u8(tb[IPVS_DAEMON_ATTR_MCAST_TTL]);
    }
    return d;
}

// Writes the identifying attributes (and with `full`, the settings) of a service.
bool put_service(nl_msg* msg, const service& s, bool full) {
    nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_SERVICE);
    if (!nest) {
        return false;
    }
    const auto& k = s.key;
    int af = family_constant(k.family);
    bool ok = nla_put_u16(msg, IPVS_SVC_ATTR_AF, static_cast<std::uint16_t>(af)) == 0;
    if (k.is_fwmark()) {
        ok = ok && nla_put_u32(msg, IPVS_SVC_ATTR_FWMARK, k.fwmark) == 0;
    } else {
        auto bytes = address_bytes(k.address);
        ok = ok &&
             nla_put_u16(msg, IPVS_SVC_ATTR_PROTOCOL, static_cast<std::uint16_t>(k.proto)) == 0 &&
             nla_put(msg, IPVS_SVC_ATTR_ADDR, static_cast<int>(bytes.size()), bytes.data()) == 0 &&
             nla_put_u16(msg, IPVS_SVC_ATTR_PORT, htons(k.port)) == 0;
    }
    if (full) {
        // Only the operator's bits: HASHED is the kernel's, and sending it set on an add would
        // make the kernel believe the service is already hashed.
        ip_vs_flags f{s.flags & service_flags::user_mask, service_flags::user_mask};
        std::uint32_t netmask =
            af == AF_INET ? htonl(v4_mask(s.netmask)) : static_cast<std::uint32_t>(s.netmask);
        ok = ok && nla_put_string(msg, IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.c_str()) == 0 &&
             nla_put(msg, IPVS_SVC_ATTR_FLAGS, sizeof f, &f) == 0 &&
             nla_put_u32(msg, IPVS_SVC_ATTR_TIMEOUT, s.timeout) == 0 &&
             nla_put_u32(msg, IPVS_SVC_ATTR_NETMASK, netmask) == 0;
    }
    nla_nest_end(msg, nest);
    return ok;
}

bool put_destination(nl_msg* msg, const destination& d, bool full) {
    nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_DEST);
    if (!nest) {
        return false;
    }
    auto bytes = address_bytes(d.address.address);
    auto af = static_cast<std::uint16_t>(family_constant(d.address.family()));
    bool ok =
        nla_put(msg, IPVS_DEST_ATTR_ADDR, static_cast<int>(bytes.size()), bytes.data()) == 0 &&
        nla_put_u16(msg, IPVS_DEST_ATTR_PORT, htons(d.address.port)) == 0 &&
        nla_put_u16(msg, IPVS_DEST_ATTR_ADDR_FAMILY, af) == 0;
    if (full) {
        ok = ok &&
             nla_put_u32(msg, IPVS_DEST_ATTR_FWD_METHOD, static_cast<std::uint32_t>(d.forward)) ==
                 0 &&
             nla_put_u32(msg, IPVS_DEST_ATTR_WEIGHT, d.weight) == 0 &&
             nla_put_u32(msg, IPVS_DEST_ATTR_U_THRESH, d.upper_threshold) == 0 &&
             nla_put_u32(msg, IPVS_DEST_ATTR_L_THRESH, d.lower_threshold) == 0;
    }
    nla_nest_end(msg, nest);
    return ok;
}

bool put_daemon(nl_msg* msg, const sync_daemon& d, bool full) {
    nlattr* nest = nla_nest_start(msg, IPVS_CMD_ATTR_DAEMON);
    if (!nest) {
        return false;
    }
    bool ok = nla_put_u32(msg, IPVS_DAEMON_ATTR_STATE, static_cast<std::uint32_t>(d.role)) == 0;
    if (full) {
        ok = ok && nla_put_string(msg, IPVS_DAEMON_ATTR_MCAST_IFN, d.interface.c_str()) == 0 &&
             nla_put_u32(msg, IPVS_DAEMON_ATTR_SYNC_ID, d.sync_id) == 0;
        if (d.max_len) {
            ok = ok && nla_put_u16(msg, IPVS_DAEMON_ATTR_SYNC_MAXLEN, d.max_len) == 0;
        }
        if (d.group && d.group->is_v4()) {
            auto b = d.group->to_v4().to_bytes();
            ok = ok && nla_put(msg, IPVS_DAEMON_ATTR_MCAST_GROUP, 4, b.data()) == 0;
        } else if (d.group) {
            auto b = d.group->to_v6().to_bytes();
            ok = ok && nla_put(msg, IPVS_DAEMON_ATTR_MCAST_GROUP6, 16, b.data()) == 0;
        }
        if (d.port) {
            ok = ok && nla_put_u16(msg, IPVS_DAEMON_ATTR_MCAST_PORT, d.port) == 0;
        }
        if (d.ttl) {
            ok = ok && nla_put_u8(msg, IPVS_DAEMON_ATTR_MCAST_TTL, d.ttl) == 0;
        }
    }
    nla_nest_end(msg, nest);
    return ok;
}

nlattr* command_attribute(nl_msg* msg, int id) {
    return nlmsg_find_attr(nlmsg_hdr(msg), GENL_HDRLEN, id);
}

#pragma GCC diagnostic pop

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

bool build_operation(nl_msg* msg, int family, const operation& op) {
    int flags = 0;
    if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, command_for(op.kind),
                     IPVS_GENL_VERSION)) {
        return false;
    }
    switch (op.kind) {
        case op_kind::add_service:
        case op_kind::edit_service:
            return put_service(msg, op.svc, true);
        case op_kind::delete_service:
            return put_service(msg, op.svc, false);
        case op_kind::add_destination:
        case op_kind::edit_destination:
            return put_service(msg, op.svc, false) && put_destination(msg, op.dest, true);
        case op_kind::delete_destination:
            return put_service(msg, op.svc, false) && put_destination(msg, op.dest, false);
    }
    return false;
}

// Runs one dump request to its end, handing each message to `each`.
boost::system::error_code run_dump(nl_sock* socket, nl_msg* request,
                                   const std::function<void(nl_msg*)>& each) {
    struct state {
        const std::function<void(nl_msg*)>* each;
        std::uint32_t seq = 0;
        bool done = false;
        int error = 0;
    } st{&each};
    cb_ref cb;
    if (!cb.p) {
        return boost_errno(ENOMEM);
    }
    // Answers to an earlier request whose reader gave up (a receive timeout) may still be queued:
    // only this request's sequence number counts.
    nl_cb_set(
        cb.p, NL_CB_SEQ_CHECK, NL_CB_CUSTOM,
        +[](nl_msg* m, void* arg) {
            return nlmsg_hdr(m)->nlmsg_seq == static_cast<state*>(arg)->seq ? int{NL_OK}
                                                                            : int{NL_SKIP};
        },
        &st);
    nl_cb_set(
        cb.p, NL_CB_VALID, NL_CB_CUSTOM,
        +[](nl_msg* m, void* arg) {
            (*static_cast<state*>(arg)->each)(m);
            return int{NL_OK};
        },
        &st);
    nl_cb_set(
        cb.p, NL_CB_FINISH, NL_CB_CUSTOM,
        +[](nl_msg*, void* arg) {
            static_cast<state*>(arg)->done = true;
            return int{NL_STOP};
        },
        &st);
    nl_cb_set(
        cb.p, NL_CB_ACK, NL_CB_CUSTOM,
        +[](nl_msg*, void* arg) {
            static_cast<state*>(arg)->done = true;
            return int{NL_STOP};
        },
        &st);
    nl_cb_err(
        cb.p, NL_CB_CUSTOM,
        +[](sockaddr_nl*, nlmsgerr* e, void* arg) {
            auto* s = static_cast<state*>(arg);
            s->error = -e->error;
            s->done = true;
            return int{NL_STOP};
        },
        &st);
    int rc = nl_send_auto(socket, request);
    if (rc < 0) {
        return boost_errno(errno_from_nl(rc));
    }
    st.seq = nlmsg_hdr(request)->nlmsg_seq;
    while (!st.done) {
        rc = nl_recvmsgs(socket, cb.p);
        if (rc < 0 && !st.done) {
            return boost_errno(st.error ? st.error : errno_from_nl(rc));
        }
    }
    if (st.error) {
        return boost_errno(st.error);
    }
    return {};
}

}  // namespace

netlink_backend::open_result netlink_backend::open() {
    nl_sock* socket = nl_socket_alloc();
    if (!socket) {
        return {nullptr, "cannot allocate a netlink socket"};
    }
    if (int rc = genl_connect(socket); rc < 0) {
        nl_socket_free(socket);
        return {nullptr, std::string("cannot open a generic netlink socket: ") + nl_geterror(rc)};
    }
    // Resolving the family makes the kernel load ip_vs on demand when the module exists.
    int family = genl_ctrl_resolve(socket, IPVS_GENL_NAME);
    if (family < 0) {
        nl_socket_free(socket);
        return {nullptr,
                "the kernel has no IPVS: generic netlink family \"IPVS\" not found (" +
                    std::string(nl_geterror(family)) +
                    "); load the ip_vs module (modprobe ip_vs) or use the memory backend only for "
                    "tests"};
    }
    // Acknowledgements of a pipelined batch queue up in the receive buffer; a bounded window
    // keeps them well under this size. A receive timeout turns a lost answer into an error
    // rather than a hung event loop.
    nl_socket_set_buffer_size(socket, 1 << 20, 1 << 20);
    timeval timeout{5, 0};
    setsockopt(nl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::unique_ptr<netlink_backend> backend(new netlink_backend(socket, family));
    // Every IPVS command needs CAP_NET_ADMIN; find out now rather than at the first sync.
    auto probe = backend->info();
    if (!probe) {
        if (probe.error().value() == EPERM) {
            return {nullptr,
                    "IPVS refused the request (EPERM): vigil needs CAP_NET_ADMIN to program IPVS"};
        }
        return {nullptr, "IPVS does not answer: " + probe.error().message()};
    }
    return {std::move(backend), {}};
}

netlink_backend::~netlink_backend() {
    nl_socket_free(socket_);
}

boost::system::result<table> netlink_backend::dump() {
    table result;
    {
        msg_ref request;
        if (!request.p || !genlmsg_put(request.p, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, NLM_F_DUMP,
                                       IPVS_CMD_GET_SERVICE, IPVS_GENL_VERSION)) {
            return boost_errno(ENOMEM);
        }
        auto ec = run_dump(socket_, request.p, [&](nl_msg* m) {
            if (auto s = parse_service(command_attribute(m, IPVS_CMD_ATTR_SERVICE))) {
                result[s->key].settings = *s;
            }
        });
        if (ec) {
            return ec;
        }
    }
    for (auto& [key, entry] : result) {
        msg_ref request;
        if (!request.p ||
            !genlmsg_put(request.p, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, NLM_F_DUMP,
                         IPVS_CMD_GET_DEST, IPVS_GENL_VERSION) ||
            !put_service(request.p, entry.settings, false)) {
            return boost_errno(ENOMEM);
        }
        int af = family_constant(key.family);
        auto ec = run_dump(socket_, request.p, [&](nl_msg* m) {
            if (auto d = parse_destination(command_attribute(m, IPVS_CMD_ATTR_DEST), af)) {
                entry.destinations[d->address] = *d;
            }
        });
        if (ec) {
            return ec;
        }
    }
    return result;
}

std::vector<std::error_code> netlink_backend::apply(std::span<const operation> ops) {
    std::vector<std::error_code> answers(ops.size(), errno_code(EINPROGRESS));
    struct state {
        std::vector<std::error_code>* answers;
        std::vector<std::pair<std::uint32_t, std::size_t>> in_flight;  // seq -> op index
        std::size_t answered = 0;
        void answer(std::uint32_t seq, int error) {
            for (auto& [s, index] : in_flight) {
                if (s == seq && (*answers)[index] == std::errc::operation_in_progress) {
                    (*answers)[index] = error ? errno_code(error) : std::error_code();
                    ++answered;
                    return;
                }
            }
        }
    } st{&answers, {}, 0};
    cb_ref cb;
    if (!cb.p) {
        std::fill(answers.begin(), answers.end(), errno_code(ENOMEM));
        return answers;
    }
    nl_cb_set(
        cb.p, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, +[](nl_msg*, void*) { return int{NL_OK}; }, nullptr);
    nl_cb_set(
        cb.p, NL_CB_ACK, NL_CB_CUSTOM,
        +[](nl_msg* m, void* arg) {
            static_cast<state*>(arg)->answer(nlmsg_hdr(m)->nlmsg_seq, 0);
            return int{NL_OK};
        },
        &st);
    nl_cb_err(
        cb.p, NL_CB_CUSTOM,
        +[](sockaddr_nl*, nlmsgerr* e, void* arg) {
            static_cast<state*>(arg)->answer(e->msg.nlmsg_seq, -e->error);
            return int{NL_SKIP};
        },
        &st);

    auto drain = [&] {
        while (st.answered < st.in_flight.size()) {
            int rc = nl_recvmsgs(socket_, cb.p);
            if (rc < 0) {
                // The answers were lost (receive timeout or overrun): the kernel may or may not
                // have applied these; the next sync's dump tells, so report them failed.
                for (auto& [seq, index] : st.in_flight) {
                    if (answers[index] == std::errc::operation_in_progress) {
                        answers[index] = errno_code(errno_from_nl(rc));
                    }
                }
                break;
            }
        }
        st.in_flight.clear();
        st.answered = 0;
    };

    // Commands of one window travel in one datagram: the kernel's netlink_rcv_skb handles each
    // message in turn and acknowledges each, so a batch costs one sendmsg instead of one per
    // command. The answers still come one per command, matched by sequence number.
    std::vector<std::uint8_t> batch;
    std::vector<std::pair<std::uint32_t, std::size_t>> batched;
    auto send_batch = [&] {
        if (batched.empty()) {
            return;
        }
        int rc = nl_sendto(socket_, batch.data(), batch.size());
        if (rc < 0) {
            for (auto& [seq, index] : batched) {
                answers[index] = errno_code(errno_from_nl(rc));
            }
        } else {
            st.in_flight.insert(st.in_flight.end(), batched.begin(), batched.end());
            drain();
        }
        batch.clear();
        batched.clear();
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
        msg_ref msg;
        if (!msg.p || !build_operation(msg.p, family_, ops[i])) {
            answers[i] = errno_code(EMSGSIZE);
            continue;
        }
        nl_complete_msg(socket_, msg.p);  // port, sequence number, NLM_F_ACK: every command answers
        const nlmsghdr* header = nlmsg_hdr(msg.p);
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(header);
        batch.insert(batch.end(), bytes, bytes + NLMSG_ALIGN(header->nlmsg_len));
        batched.emplace_back(header->nlmsg_seq, i);
        if (batched.size() >= window_) {
            send_batch();
        }
    }
    send_batch();
    return answers;
}

boost::system::result<netlink_backend::kernel_info> netlink_backend::info() {
    kernel_info result;
    msg_ref request;
    if (!request.p || !genlmsg_put(request.p, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, 0,
                                   IPVS_CMD_GET_INFO, IPVS_GENL_VERSION)) {
        return boost_errno(ENOMEM);
    }
    auto ec = run_dump(socket_, request.p, [&](nl_msg* m) {
        if (auto* a = command_attribute(m, IPVS_INFO_ATTR_VERSION); a && nla_len(a) >= 4) {
            result.version = nla_get_u32(a);
        }
        if (auto* a = command_attribute(m, IPVS_INFO_ATTR_CONN_TAB_SIZE); a && nla_len(a) >= 4) {
            result.connection_table_size = nla_get_u32(a);
        }
    });
    if (ec) {
        return ec;
    }
    return result;
}

std::string netlink_backend::version_string(std::uint32_t version) {
    return std::to_string((version >> 16) & 0xff) + "." + std::to_string((version >> 8) & 0xff) +
           "." + std::to_string(version & 0xff);
}

boost::system::result<std::vector<sync_daemon>> netlink_backend::daemons() {
    std::vector<sync_daemon> result;
    msg_ref request;
    if (!request.p || !genlmsg_put(request.p, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, NLM_F_DUMP,
                                   IPVS_CMD_GET_DAEMON, IPVS_GENL_VERSION)) {
        return boost_errno(ENOMEM);
    }
    auto ec = run_dump(socket_, request.p, [&](nl_msg* m) {
        if (auto d = parse_daemon(command_attribute(m, IPVS_CMD_ATTR_DAEMON))) {
            result.push_back(*d);
        }
    });
    if (ec) {
        return ec;
    }
    return result;
}

namespace {
// One command, answered by an acknowledgement carrying the kernel's own errno (nl_send_sync
// would fold it into libnl's codes, turning ESRCH into ENOENT).
std::error_code run_command(nl_sock* socket, nl_msg* msg) {
    auto ec = run_dump(socket, msg, [](nl_msg*) {});
    return ec ? errno_code(ec.value()) : std::error_code();
}
}  // namespace

std::error_code netlink_backend::start_daemon(const sync_daemon& daemon) {
    msg_ref msg;
    if (!msg.p ||
        !genlmsg_put(msg.p, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, 0, IPVS_CMD_NEW_DAEMON,
                     IPVS_GENL_VERSION) ||
        !put_daemon(msg.p, daemon, true)) {
        return errno_code(EMSGSIZE);
    }
    return run_command(socket_, msg.p);
}

std::error_code netlink_backend::stop_daemon(sync_role role) {
    msg_ref msg;
    sync_daemon d;
    d.role = role;
    if (!msg.p ||
        !genlmsg_put(msg.p, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, 0, IPVS_CMD_DEL_DAEMON,
                     IPVS_GENL_VERSION) ||
        !put_daemon(msg.p, d, false)) {
        return errno_code(EMSGSIZE);
    }
    return run_command(socket_, msg.p);
}

}  // namespace vigil::ipvs
