// libFuzzer target for the IPVS netlink reply parser: the bytes are one datagram as the kernel
// would send it. Beyond "does not crash or read out of bounds", it checks the codec's contract:
// whatever decodes re-encodes as a request that decodes to the same service, destination or
// daemon (the kernel reads requests with the same attribute layout it dumps).

#include <linux/ip_vs.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "ipvs/netlink_codec.hpp"
#include "ipvs/netlink_message.hpp"

using namespace vigil;
using namespace vigil::ipvs;

namespace {

constexpr std::uint16_t ipvs_family = 0x1d;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

// The one data message of a request the codec built.
netlink::reply only_message(const netlink::bytes& message) {
    auto replies = netlink::parse_replies(message);
    if (!replies || replies->size() != 1 || (*replies)[0].what != netlink::reply::kind::data) {
        fail("a built request does not parse as one data message");
    }
    return (*replies)[0];
}

void check_service(const service& s) {
    operation op;
    op.kind = op_kind::edit_service;
    op.svc = s;
    auto message = encode_operation(ipvs_family, op);
    if (!message) {
        return;  // a scheduler name near 64 KiB: too long for the nest it must travel in
    }
    auto back = decode_service(only_message(*message).attributes);
    if (!back) {
        fail("a decoded service does not decode again after encoding");
    }
    if (!(back->key == s.key) || !back->same_settings(s)) {
        fail("a decoded service changed on its way through encode and decode");
    }
}

void check_destination(const service& owner, const destination& d) {
    operation op;
    op.kind = op_kind::edit_destination;
    op.svc = owner;
    op.dest = d;
    auto message = encode_operation(ipvs_family, op);
    if (!message) {
        fail("a destination cannot be encoded");
    }
    auto back = decode_destination(only_message(*message).attributes, owner.key.family);
    if (!back) {
        fail("a decoded destination does not decode again after encoding");
    }
    if (!(back->address == d.address) || back->forward != d.forward || !back->same_settings(d)) {
        fail("a decoded destination changed on its way through encode and decode");
    }
}

void check_daemon(const sync_daemon& d) {
    auto message = encode_daemon_start(ipvs_family, d);
    if (!message) {
        return;  // an interface name near 64 KiB
    }
    auto back = decode_daemon(only_message(*message).attributes);
    if (!back) {
        fail("a decoded daemon does not decode again after encoding");
    }
    if (back->role != d.role || back->interface != d.interface || back->sync_id != d.sync_id ||
        back->max_len != d.max_len || back->group != d.group || back->port != d.port ||
        back->ttl != d.ttl) {
        fail("a decoded daemon changed on its way through encode and decode");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto replies = netlink::parse_replies({data, size});
    if (!replies) {
        return 0;
    }
    service owner;
    owner.key =
        service_key::for_address(protocol::tcp, {boost::asio::ip::make_address("192.0.2.1"), 80});
    for (const auto& r : *replies) {
        if (r.what != netlink::reply::kind::data) {
            continue;
        }
        if (auto s = decode_service(r.attributes)) {
            check_service(*s);
        }
        for (auto family : {address_family::ipv4, address_family::ipv6}) {
            if (auto d = decode_destination(r.attributes, family)) {
                check_destination(owner, *d);
            }
        }
        if (auto d = decode_daemon(r.attributes)) {
            check_daemon(*d);
        }
        (void)decode_info(r.attributes);
    }
    return 0;
}
