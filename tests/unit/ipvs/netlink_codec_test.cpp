#include "ipvs/netlink_codec.hpp"

#include <doctest/doctest.h>

#include <memory>

#include "netlink_kernel_replies.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::netlink;
using namespace vigil::ipvs::test;

namespace {

constexpr std::uint16_t ipvs_family = 0x1d;

byte_view view(const wire& w) {
    return {w.data(), w.size()};
}

// A built request read back as the kernel would: its command, flags and attributes. It keeps
// the bytes it was read from, which its attributes point into.
struct read_message {
    bytes raw;
    std::uint16_t type = 0;
    std::uint16_t flags = 0;
    std::uint8_t command = 0;
    byte_view attributes;
};

std::unique_ptr<read_message> read_back(std::optional<bytes> message) {
    REQUIRE(message);
    auto m = std::make_unique<read_message>();
    m->raw = std::move(*message);
    auto replies = parse_replies(m->raw);
    REQUIRE(replies);
    REQUIRE(replies->size() == 1);
    m->type = replies->front().type;
    m->flags = replies->front().flags;
    m->command = replies->front().command;
    m->attributes = replies->front().attributes;
    return m;
}

attribute_set nest_of(const std::unique_ptr<read_message>& r, std::uint16_t type,
                      std::uint16_t max) {
    auto top = attribute_set::parse(r->attributes, IPVS_CMD_ATTR_MAX);
    REQUIRE(top);
    auto nest = top->find(type);
    REQUIRE(nest);
    auto set = attribute_set::parse(*nest, max);
    REQUIRE(set);
    return *set;
}

operation op(op_kind kind, const service& s, const destination& d = {}) {
    operation o;
    o.kind = kind;
    o.svc = s;
    o.dest = d;
    return o;
}

// What the kernel sends for one service in a dump (ip_vs_genl_fill_service).
wire kernel_service(const wire& address, std::uint16_t port_be_host, std::uint32_t netmask,
                    const wire& extra = {}) {
    return attr(
        IPVS_CMD_ATTR_SERVICE,
        cat({attr(IPVS_SVC_ATTR_AF, u16v(AF_INET)), attr(IPVS_SVC_ATTR_PROTOCOL, u16v(6)),
             attr(IPVS_SVC_ATTR_ADDR, address), attr(IPVS_SVC_ATTR_PORT, be16v(port_be_host)),
             attr(IPVS_SVC_ATTR_SCHED_NAME, str("wrr")),
             attr(IPVS_SVC_ATTR_FLAGS, cat({u32v(IP_VS_SVC_F_HASHED), u32v(~0U)})),
             attr(IPVS_SVC_ATTR_TIMEOUT, u32v(0)), attr(IPVS_SVC_ATTR_NETMASK, u32v(netmask)),
             extra}));
}

wire stats64(std::uint64_t connections, std::uint64_t in_bytes) {
    return cat({attr(IPVS_STATS_ATTR_CONNS, u64v(connections)), attr(IPVS_STATS_ATTR_PAD, {}),
                attr(IPVS_STATS_ATTR_INBYTES, u64v(in_bytes))});
}

wire kernel_destination(const wire& extra = {}) {
    return attr(
        IPVS_CMD_ATTR_DEST,
        cat({attr(IPVS_DEST_ATTR_ADDR, inet({10, 0, 0, 2})), attr(IPVS_DEST_ATTR_PORT, be16v(8080)),
             attr(IPVS_DEST_ATTR_FWD_METHOD, u32v(IP_VS_CONN_F_DROUTE)),
             attr(IPVS_DEST_ATTR_WEIGHT, u32v(3)), attr(IPVS_DEST_ATTR_U_THRESH, u32v(0)),
             attr(IPVS_DEST_ATTR_L_THRESH, u32v(0)), attr(IPVS_DEST_ATTR_ACTIVE_CONNS, u32v(12)),
             attr(IPVS_DEST_ATTR_INACT_CONNS, u32v(4)), attr(IPVS_DEST_ATTR_PERSIST_CONNS, u32v(1)),
             extra}));
}

}  // namespace

TEST_CASE("deleting a service sends only its identity, byte for byte as ipvsadm does") {
    auto s = tcp_service("192.0.2.1:80");
    auto message = encode_operation(ipvs_family, op(op_kind::delete_service, s));
    REQUIRE(message);
    wire nest = attr(
        IPVS_CMD_ATTR_SERVICE,
        cat({attr(IPVS_SVC_ATTR_AF, u16v(AF_INET)), attr(IPVS_SVC_ATTR_PROTOCOL, u16v(IPPROTO_TCP)),
             attr(IPVS_SVC_ATTR_ADDR, inet({192, 0, 2, 1})), attr(IPVS_SVC_ATTR_PORT, be16v(80))}));
    wire expected = cat({header(static_cast<std::uint32_t>(20 + nest.size()), ipvs_family,
                                NLM_F_REQUEST | NLM_F_ACK, 0),
                         raw({IPVS_CMD_DEL_SERVICE, IPVS_GENL_VERSION, 0, 0}), nest});
    CHECK(*message == expected);
}

TEST_CASE("an added service carries its settings, operator flags only, IPv4 netmask as a mask") {
    auto s = tcp_service("10.0.0.1:443", "sh");
    s.flags = service_flags::persistent | service_flags::hashed | service_flags::sched_flag_1;
    s.timeout = 300;
    s.netmask = 24;
    auto r = read_back(encode_operation(ipvs_family, op(op_kind::add_service, s)));
    CHECK(r->type == ipvs_family);
    CHECK(r->command == IPVS_CMD_NEW_SERVICE);
    CHECK((r->flags & NLM_F_ACK) != 0);
    auto set = nest_of(r, IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
    CHECK(read_u16(*set.find(IPVS_SVC_ATTR_AF)) == AF_INET);
    CHECK(read_u16(*set.find(IPVS_SVC_ATTR_PROTOCOL)) == IPPROTO_TCP);
    CHECK(wire(set.find(IPVS_SVC_ATTR_ADDR)->begin(), set.find(IPVS_SVC_ATTR_ADDR)->end()) ==
          inet({10, 0, 0, 1}));
    CHECK(wire(set.find(IPVS_SVC_ATTR_PORT)->begin(), set.find(IPVS_SVC_ATTR_PORT)->end()) ==
          be16v(443));
    CHECK(read_string(*set.find(IPVS_SVC_ATTR_SCHED_NAME)) == "sh");
    wire flags(set.find(IPVS_SVC_ATTR_FLAGS)->begin(), set.find(IPVS_SVC_ATTR_FLAGS)->end());
    CHECK(flags ==
          cat({u32v(IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1), u32v(service_flags::user_mask)}));
    CHECK(read_u32(*set.find(IPVS_SVC_ATTR_TIMEOUT)) == 300);
    CHECK(wire(set.find(IPVS_SVC_ATTR_NETMASK)->begin(), set.find(IPVS_SVC_ATTR_NETMASK)->end()) ==
          raw({255, 255, 255, 0}));
    CHECK_FALSE(set.has(IPVS_SVC_ATTR_FWMARK));
}

TEST_CASE("every service an operation sends decodes back to the same service") {
    auto v4 = tcp_service("10.0.0.1:80", "wrr");
    v4.timeout = 60;
    v4.netmask = 16;
    v4.flags = service_flags::persistent;
    auto v6 = tcp_service("[2001:db8::1]:53", "rr");
    v6.key.proto = protocol::udp;
    v6.netmask = 64;
    service mark;
    mark.key = service_key::for_fwmark(7, address_family::ipv6);
    mark.scheduler = "mh";
    mark.netmask = 128;
    for (const auto& s : {v4, v6, mark}) {
        CAPTURE(to_string(s.key));
        auto r = read_back(encode_operation(ipvs_family, op(op_kind::edit_service, s)));
        CHECK(r->command == IPVS_CMD_SET_SERVICE);
        auto back = decode_service(r->attributes);
        REQUIRE(back);
        CHECK(back->key == s.key);
        CHECK(back->same_settings(s));
        CHECK(back->netmask == s.netmask);
        CHECK(back->timeout == s.timeout);
    }
}

TEST_CASE("a destination command nests the service's identity and the destination's settings") {
    auto s = tcp_service("10.0.0.1:80");
    auto d = dest("10.0.0.2:8080", 5, forward_method::tunnel);
    d.upper_threshold = 100;
    d.lower_threshold = 10;
    auto r = read_back(encode_operation(ipvs_family, op(op_kind::add_destination, s, d)));
    CHECK(r->command == IPVS_CMD_NEW_DEST);
    auto svc = nest_of(r, IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
    CHECK(svc.has(IPVS_SVC_ATTR_PORT));
    CHECK_FALSE(svc.has(IPVS_SVC_ATTR_SCHED_NAME));  // identity only
    auto dst = nest_of(r, IPVS_CMD_ATTR_DEST, IPVS_DEST_ATTR_MAX);
    CHECK(read_u16(*dst.find(IPVS_DEST_ATTR_ADDR_FAMILY)) == AF_INET);
    CHECK(read_u32(*dst.find(IPVS_DEST_ATTR_FWD_METHOD)) == IP_VS_CONN_F_TUNNEL);
    CHECK(read_u32(*dst.find(IPVS_DEST_ATTR_WEIGHT)) == 5);
    CHECK(read_u32(*dst.find(IPVS_DEST_ATTR_U_THRESH)) == 100);
    CHECK(read_u32(*dst.find(IPVS_DEST_ATTR_L_THRESH)) == 10);
    auto back = decode_destination(r->attributes, address_family::ipv4);
    REQUIRE(back);
    CHECK(back->address == d.address);
    CHECK(back->same_settings(d));

    auto removal = read_back(encode_operation(ipvs_family, op(op_kind::delete_destination, s, d)));
    CHECK(removal->command == IPVS_CMD_DEL_DEST);
    auto gone = nest_of(removal, IPVS_CMD_ATTR_DEST, IPVS_DEST_ATTR_MAX);
    CHECK(gone.has(IPVS_DEST_ATTR_PORT));
    CHECK_FALSE(gone.has(IPVS_DEST_ATTR_WEIGHT));
}

TEST_CASE("dumps ask with NLM_F_DUMP; a destination dump names its service") {
    auto services = read_back(encode_service_dump(ipvs_family));
    CHECK(services->command == IPVS_CMD_GET_SERVICE);
    CHECK((services->flags & NLM_F_DUMP) == NLM_F_DUMP);
    CHECK(services->attributes.empty());
    auto s = tcp_service("10.0.0.1:80");
    auto destinations = read_back(encode_destination_dump(ipvs_family, s));
    CHECK(destinations->command == IPVS_CMD_GET_DEST);
    CHECK(decode_service(destinations->attributes)->key == s.key);
    CHECK(read_back(encode_daemon_dump(ipvs_family))->command == IPVS_CMD_GET_DAEMON);
    auto info = read_back(encode_info_request(ipvs_family));
    CHECK(info->command == IPVS_CMD_GET_INFO);
    CHECK((info->flags & NLM_F_ACK) != 0);  // the answer ends with an acknowledgement
}

TEST_CASE("a sync daemon start carries every set field and decodes back equal") {
    sync_daemon d;
    d.role = sync_role::backup;
    d.interface = "eth1";
    d.sync_id = 9;
    d.max_len = 1400;
    d.group = boost::asio::ip::make_address("ff02::8148");
    d.port = 8849;
    d.ttl = 3;
    auto r = read_back(encode_daemon_start(ipvs_family, d));
    CHECK(r->command == IPVS_CMD_NEW_DAEMON);
    auto back = decode_daemon(r->attributes);
    REQUIRE(back);
    CHECK(back->role == d.role);
    CHECK(back->interface == "eth1");
    CHECK(back->sync_id == 9);
    CHECK(back->max_len == 1400);
    CHECK(back->group == d.group);
    CHECK(back->port == 8849);
    CHECK(back->ttl == 3);

    auto stop = read_back(encode_daemon_stop(ipvs_family, sync_role::master));
    CHECK(stop->command == IPVS_CMD_DEL_DAEMON);
    auto set = nest_of(stop, IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_MAX);
    CHECK(read_u32(*set.find(IPVS_DAEMON_ATTR_STATE)) == IP_VS_STATE_MASTER);
    CHECK_FALSE(set.has(IPVS_DAEMON_ATTR_MCAST_IFN));
}

TEST_CASE("an interface name too long for an attribute is refused, not truncated") {
    sync_daemon d;
    d.interface = std::string(70000, 'e');
    CHECK_FALSE(encode_daemon_start(ipvs_family, d));
}

TEST_CASE("a kernel service reply decodes with its counters; unknown attributes are ignored") {
    wire reply = kernel_service(inet({192, 0, 2, 1}), 80, 0xffffffff,
                                cat({attr(IPVS_SVC_ATTR_STATS64, stats64(42, 1000)),
                                     attr(IPVS_SVC_ATTR_PE_NAME, str("sip")), attr(200, u32v(1))}));
    auto s = decode_service(view(reply));
    REQUIRE(s);
    CHECK(to_string(s->key) == "tcp 192.0.2.1:80");
    CHECK(s->scheduler == "wrr");
    CHECK(s->flags == IP_VS_SVC_F_HASHED);
    CHECK(s->netmask == 32);
    CHECK(s->stats.connections == 42);
    CHECK(s->stats.in_bytes == 1000);
}

TEST_CASE("the older 32-bit stats nest is read when STATS64 is absent") {
    wire stats =
        cat({attr(IPVS_STATS_ATTR_CONNS, u32v(5)), attr(IPVS_STATS_ATTR_INBYTES, u64v(9))});
    auto s = decode_service(view(
        kernel_service(inet({192, 0, 2, 1}), 80, 0xffffffff, attr(IPVS_SVC_ATTR_STATS, stats))));
    REQUIRE(s);
    CHECK(s->stats.connections == 5);
    CHECK(s->stats.in_bytes == 9);
}

TEST_CASE("a kernel destination reply decodes; without an address family it has the service's") {
    auto d = decode_destination(view(kernel_destination()), address_family::ipv4);
    REQUIRE(d);
    CHECK(d->address == ep("10.0.0.2:8080"));
    CHECK(d->forward == forward_method::route);
    CHECK(d->weight == 3);
    CHECK(d->active_connections == 12);
    CHECK(d->inactive_connections == 4);
    CHECK(d->persistent_connections == 1);
    // The same 16 bytes read as an IPv6 destination of an IPv6 service.
    auto six = decode_destination(view(kernel_destination()), address_family::ipv6);
    REQUIRE(six);
    CHECK(six->address.family() == address_family::ipv6);
    // An explicit family wins over the service's (IPv4 real servers of an IPv6 fwmark service).
    auto mixed = decode_destination(
        view(kernel_destination(attr(IPVS_DEST_ATTR_ADDR_FAMILY, u16v(AF_INET)))),
        address_family::ipv6);
    REQUIRE(mixed);
    CHECK(mixed->address == ep("10.0.0.2:8080"));
}

TEST_CASE("a kernel info reply decodes; without both values it is refused") {
    wire both = cat({attr(IPVS_INFO_ATTR_VERSION, u32v(0x010201)),
                     attr(IPVS_INFO_ATTR_CONN_TAB_SIZE, u32v(4096))});
    auto info = decode_info(view(both));
    REQUIRE(info);
    CHECK(version_string(info->version) == "1.2.1");
    CHECK(info->connection_table_size == 4096);
    CHECK_FALSE(decode_info(view(attr(IPVS_INFO_ATTR_VERSION, u32v(0x010201)))));
    CHECK_FALSE(decode_info(view(cat(
        {attr(IPVS_INFO_ATTR_VERSION, u16v(1)), attr(IPVS_INFO_ATTR_CONN_TAB_SIZE, u32v(4096))}))));
}

TEST_CASE("a service reply with a malformed or missing field is refused") {
    auto with = [](std::initializer_list<wire> attributes) {
        return decode_service(view(attr(IPVS_CMD_ATTR_SERVICE, cat(attributes))));
    };
    wire af = attr(IPVS_SVC_ATTR_AF, u16v(AF_INET));
    wire proto = attr(IPVS_SVC_ATTR_PROTOCOL, u16v(6));
    wire address = attr(IPVS_SVC_ATTR_ADDR, inet({10, 0, 0, 1}));
    wire port = attr(IPVS_SVC_ATTR_PORT, be16v(80));
    CHECK(with({af, proto, address, port}));
    CHECK_FALSE(with({proto, address, port}));                                    // no family
    CHECK_FALSE(with({attr(IPVS_SVC_ATTR_AF, u16v(99)), proto, address, port}));  // unknown
    CHECK_FALSE(with({attr(IPVS_SVC_ATTR_AF, u8v(2)), proto, address, port}));    // short
    CHECK_FALSE(with({af, address, port}));                                       // no protocol
    CHECK_FALSE(with({af, proto, port}));                                         // no address
    CHECK_FALSE(with({af, proto, address}));                                      // no port
    CHECK_FALSE(with({af, proto, attr(IPVS_SVC_ATTR_ADDR, raw({10, 0, 0})), port}));
    CHECK_FALSE(with({attr(IPVS_SVC_ATTR_AF, u16v(AF_INET6)), proto,
                      attr(IPVS_SVC_ATTR_ADDR, raw({1, 2, 3, 4})), port}));  // v6 in 4 bytes
    CHECK_FALSE(with({af, proto, address, port, attr(IPVS_SVC_ATTR_FLAGS, u32v(1))}));
    CHECK_FALSE(with({af, proto, address, port, attr(IPVS_SVC_ATTR_TIMEOUT, u16v(1))}));
    CHECK_FALSE(with({af, attr(IPVS_SVC_ATTR_FWMARK, u16v(7))}));
    CHECK_FALSE(with({attr(IPVS_SVC_ATTR_AF, u16v(AF_INET6)), attr(IPVS_SVC_ATTR_FWMARK, u32v(7)),
                      attr(IPVS_SVC_ATTR_NETMASK, u32v(129))}));
    CHECK_FALSE(with(
        {af, proto, address, port, attr(IPVS_SVC_ATTR_STATS64, raw({12, 0, 1, 0, 0, 0, 0, 0}))}));
    CHECK_FALSE(with({af, proto, address, port,
                      attr(IPVS_SVC_ATTR_STATS64, attr(IPVS_STATS_ATTR_CONNS, u16v(1)))}));
    CHECK_FALSE(decode_service(view(af)));  // no service nest at all
    CHECK_FALSE(decode_service({}));
}

TEST_CASE("destination and daemon replies with a malformed or missing field are refused") {
    CHECK_FALSE(
        decode_destination(view(kernel_destination(attr(IPVS_DEST_ATTR_ADDR_FAMILY, u16v(99)))),
                           address_family::ipv4));
    CHECK_FALSE(decode_destination(
        view(attr(IPVS_CMD_ATTR_DEST, attr(IPVS_DEST_ATTR_ADDR, inet({10, 0, 0, 2})))),
        address_family::ipv4));  // no port
    CHECK_FALSE(decode_destination(
        view(attr(IPVS_CMD_ATTR_DEST, cat({attr(IPVS_DEST_ATTR_ADDR, inet({10, 0, 0, 2})),
                                           attr(IPVS_DEST_ATTR_PORT, be16v(80)),
                                           attr(IPVS_DEST_ATTR_FWD_METHOD, u32v(7))}))),
        address_family::ipv4));  // no such forwarding method
    CHECK_FALSE(decode_destination(view(kernel_destination(attr(IPVS_DEST_ATTR_WEIGHT, u64v(1)))),
                                   address_family::ipv4));

    auto daemon = [](std::initializer_list<wire> attributes) {
        return decode_daemon(view(attr(IPVS_CMD_ATTR_DAEMON, cat(attributes))));
    };
    wire state = attr(IPVS_DAEMON_ATTR_STATE, u32v(IP_VS_STATE_MASTER));
    wire ifn = attr(IPVS_DAEMON_ATTR_MCAST_IFN, str("eth0"));
    CHECK(daemon({state, ifn}));
    CHECK_FALSE(daemon({ifn}));
    CHECK_FALSE(daemon({state}));
    CHECK_FALSE(daemon({attr(IPVS_DAEMON_ATTR_STATE, u32v(3)), ifn}));
    CHECK_FALSE(daemon({state, ifn, attr(IPVS_DAEMON_ATTR_MCAST_GROUP, inet({224, 0, 0, 81}))}));
    CHECK_FALSE(daemon({state, ifn, attr(IPVS_DAEMON_ATTR_MCAST_GROUP6, raw({1, 2, 3, 4}))}));
    CHECK_FALSE(daemon({state, ifn, attr(IPVS_DAEMON_ATTR_MCAST_TTL, u16v(1))}));
}

TEST_CASE("every truncation of a kernel reply is refused, never read past its end") {
    std::vector<std::pair<const char*, wire>> replies = {
        {"service", kernel_service(inet({192, 0, 2, 1}), 80, 0xffffffff,
                                   attr(IPVS_SVC_ATTR_STATS64, stats64(1, 2)))},
        {"destination", kernel_destination(attr(IPVS_DEST_ATTR_STATS64, stats64(3, 4)))},
        {"daemon",
         attr(IPVS_CMD_ATTR_DAEMON, cat({attr(IPVS_DAEMON_ATTR_STATE, u32v(IP_VS_STATE_BACKUP)),
                                         attr(IPVS_DAEMON_ATTR_MCAST_IFN, str("eth0"))}))},
    };
    for (const auto& [what, full] : replies) {
        CAPTURE(what);
        // The nest's own length, without the padding after it.
        std::size_t length = static_cast<std::size_t>(full[0] | (full[1] << 8));
        for (std::size_t n = 0; n < length; ++n) {
            // A copy of exactly n bytes, so a read past the end is an ASan error.
            wire cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
            CAPTURE(n);
            CHECK_FALSE(decode_service(view(cut)));
            CHECK_FALSE(decode_destination(view(cut), address_family::ipv4));
            CHECK_FALSE(decode_daemon(view(cut)));
        }
        wire whole(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(length));
        bool decoded = decode_service(view(whole)) ||
                       decode_destination(view(whole), address_family::ipv4) ||
                       decode_daemon(view(whole));
        CHECK(decoded);
    }
}
