#include "ipvs/diff.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;

namespace {
std::vector<std::string> described(const std::vector<operation>& ops) {
    std::vector<std::string> out;
    for (const auto& op : ops) {
        out.push_back(describe(op));
    }
    return out;
}
}  // namespace

TEST_CASE("an empty kernel gets the service first, then its destinations") {
    table desired;
    put(desired, tcp_service("192.0.2.1:80", "wrr"), {dest("10.0.0.2:80", 3), dest("10.0.0.3:80")});
    auto ops = diff(desired, {}, {});
    REQUIRE(ops.size() == 3);
    CHECK(ops[0].kind == op_kind::add_service);
    CHECK(ops[0].svc.scheduler == "wrr");
    CHECK(ops[1].kind == op_kind::add_destination);
    CHECK(ops[1].svc.key == ops[0].svc.key);
    CHECK(ops[2].kind == op_kind::add_destination);
}

TEST_CASE("a kernel table equal to the desired one needs no operation, counters and all") {
    table desired;
    put(desired, tcp_service("192.0.2.1:80"), {dest("10.0.0.2:80", 3)});
    table actual = desired;
    actual.begin()->second.settings.flags |= service_flags::hashed;
    actual.begin()->second.settings.stats.connections = 500;
    actual.begin()->second.destinations.begin()->second.active_connections = 7;
    CHECK(diff(desired, actual, {}).empty());
}

TEST_CASE("only changed settings are edited and stale destinations deleted") {
    table actual;
    put(actual, tcp_service("192.0.2.1:80", "rr"),
        {dest("10.0.0.2:80", 1), dest("10.0.0.3:80", 1), dest("10.0.0.4:80", 1)});
    table desired;
    put(desired, tcp_service("192.0.2.1:80", "wrr"),
        {dest("10.0.0.2:80", 1), dest("10.0.0.3:80", 5), dest("10.0.0.5:80", 1)});
    auto ops = described(diff(desired, actual, {}));
    CHECK(ops ==
          std::vector<std::string>{
              "edit_service tcp 192.0.2.1:80 scheduler wrr flags 0 timeout 0 netmask 32",
              "delete_destination tcp 192.0.2.1:80 -> 10.0.0.4:80",
              "edit_destination tcp 192.0.2.1:80 -> 10.0.0.3:80 masq weight 5 thresholds 0..0",
              "add_destination tcp 192.0.2.1:80 -> 10.0.0.5:80 masq weight 1 thresholds 0..0"});
}

TEST_CASE("a service someone else made is never touched") {
    table actual;
    put(actual, tcp_service("198.51.100.1:443"), {dest("10.9.9.9:443")});
    CHECK(diff({}, actual, {}).empty());
    table desired;
    put(desired, tcp_service("192.0.2.1:80"));
    auto ops = diff(desired, actual, {});
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == op_kind::add_service);
}

TEST_CASE("an owned service no longer wanted is deleted before anything is added") {
    auto old_key = service_key::for_address(protocol::tcp, ep("192.0.2.9:80"));
    table actual;
    put(actual, tcp_service("192.0.2.9:80"), {dest("10.0.0.2:80")});
    put(actual, tcp_service("198.51.100.1:443"));
    table desired;
    put(desired, tcp_service("192.0.2.1:80"));
    auto ops = diff(desired, actual, {old_key});
    REQUIRE(ops.size() == 2);
    CHECK(ops[0].kind == op_kind::delete_service);
    CHECK(ops[0].svc.key == old_key);
    CHECK(ops[1].kind == op_kind::add_service);
}

TEST_CASE("an owned service already gone from the kernel needs nothing") {
    auto old_key = service_key::for_address(protocol::tcp, ep("192.0.2.9:80"));
    CHECK(diff({}, {}, {old_key}).empty());
}

TEST_CASE("a desired service that already exists is adopted, not re-created") {
    table actual;
    put(actual, tcp_service("192.0.2.1:80"), {dest("10.0.0.2:80")});
    table desired = actual;
    CHECK(diff(desired, actual, {}).empty());
}

TEST_CASE("IPv6 and fwmark services diff like any other") {
    service v6 = tcp_service("[2001:db8::1]:80");
    service mark;
    mark.key = service_key::for_fwmark(7, address_family::ipv4);
    table desired;
    put(desired, v6, {dest("[2001:db8::10]:80", 2, forward_method::route)});
    put(desired, mark, {dest("10.0.0.2:0", 1, forward_method::tunnel)});
    table actual = desired;
    actual[v6.key].destinations.begin()->second.forward = forward_method::masq;
    auto ops = diff(desired, actual, {});
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].kind == op_kind::edit_destination);
    CHECK(ops[0].dest.forward == forward_method::route);
}

TEST_CASE("a 1% change of a 10,000-destination table costs 1% of the operations") {
    table desired;
    for (int s = 0; s < 100; ++s) {
        auto svc = tcp_service(("10.1.0." + std::to_string(s) + ":80").c_str());
        auto& entry = desired[svc.key];
        entry.settings = svc;
        for (int d = 0; d < 100; ++d) {
            auto de = dest(("10.2." + std::to_string(s) + "." + std::to_string(d) + ":80").c_str());
            entry.destinations[de.address] = de;
        }
    }
    table actual = desired;
    int changed = 0;
    for (auto& [key, entry] : desired) {
        auto it = entry.destinations.begin();
        it->second.weight = 7;
        ++changed;
    }
    CHECK(diff(desired, actual, {}).size() == static_cast<std::size_t>(changed));
}
