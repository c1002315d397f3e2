#include "ipvs/model.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;

TEST_CASE("service keys round-trip through the state-file text form") {
    for (auto key : {service_key::for_address(protocol::tcp, ep("192.0.2.1:80")),
                     service_key::for_address(protocol::udp, ep("[2001:db8::1]:53")),
                     service_key::for_address(protocol::sctp, ep("192.0.2.9:3868")),
                     service_key::for_fwmark(7, address_family::ipv4),
                     service_key::for_fwmark(4294967295U, address_family::ipv6)}) {
        auto text = to_string(key);
        auto back = parse_service_key(text);
        REQUIRE(back);
        CHECK(*back == key);
        CHECK(to_string(*back) == text);
    }
    CHECK(to_string(service_key::for_fwmark(7, address_family::ipv4)) == "fwmark 7 ipv4");
    CHECK(to_string(service_key::for_address(protocol::udp, ep("[2001:db8::1]:53"))) ==
          "udp [2001:db8::1]:53");
    CHECK_FALSE(parse_service_key("icmp 192.0.2.1:80"));
    CHECK_FALSE(parse_service_key("fwmark 0 ipv4"));
    CHECK_FALSE(parse_service_key("fwmark 7 ipx"));
    CHECK_FALSE(parse_service_key("tcp 192.0.2.1"));
}

TEST_CASE("a fwmark service is identified by mark and family only") {
    auto a = service_key::for_fwmark(7, address_family::ipv4);
    auto b = a;
    b.proto = protocol::udp;  // the kernel ignores the protocol of a fwmark service
    CHECK(a == b);
    CHECK_FALSE(a == service_key::for_fwmark(7, address_family::ipv6));
    CHECK(a < service_key::for_fwmark(8, address_family::ipv4));
}

TEST_CASE("service settings compare only what an operator sets, not the kernel's hashed bit") {
    auto a = tcp_service("192.0.2.1:80");
    auto b = a;
    b.flags |= service_flags::hashed;
    b.stats.connections = 99;
    CHECK(a.same_settings(b));
    b.flags |= service_flags::one_packet;
    CHECK_FALSE(a.same_settings(b));
    auto c = a;
    c.netmask = 24;
    CHECK_FALSE(a.same_settings(c));
}

TEST_CASE("a destination the kernel reports as local matches any forwarding method") {
    auto want = dest("10.0.0.2:80", 3, forward_method::route);
    auto have = want;
    have.forward = forward_method::local;
    have.active_connections = 12;
    CHECK(want.same_settings(have));
    have.forward = forward_method::masq;
    CHECK_FALSE(want.same_settings(have));
}
