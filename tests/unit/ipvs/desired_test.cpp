#include "ipvs/desired.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;

namespace {
virtual_server_spec web(failure_policy policy = failure_policy::remove) {
    virtual_server_spec vs;
    vs.name = "web";
    service_options options;
    options.sched = scheduler::wrr;
    vs.settings =
        make_service(service_key::for_address(protocol::tcp, ep("192.0.2.1:80")), options);
    vs.method = forwarding::nat;
    vs.on_failure = policy;
    vs.real_servers = {{"web/10.0.0.2:80", ep("10.0.0.2:80"), 3, 0, 0},
                       {"web/10.0.0.3:80", ep("10.0.0.3:80"), 2, 100, 10}};
    return vs;
}

const service_entry& only(const desired_result& r) {
    REQUIRE(r.desired.size() == 1);
    return r.desired.begin()->second;
}
}  // namespace

TEST_CASE("healthy real servers are wanted at their configured weight and thresholds") {
    desired_builder builder;
    auto vs = web();
    auto r = builder.build({&vs, 1}, {});
    const auto& e = only(r);
    CHECK(e.settings.scheduler == "wrr");
    REQUIRE(e.destinations.size() == 2);
    const auto& second = e.destinations.at(ep("10.0.0.3:80"));
    CHECK(second.weight == 2);
    CHECK(second.upper_threshold == 100);
    CHECK(second.lower_threshold == 10);
    CHECK(second.forward == forward_method::masq);
    CHECK(r.events.empty());
}

TEST_CASE("a dynamic weight from a check replaces the configured weight") {
    desired_builder builder;
    auto vs = web();
    health_map health{{"web/10.0.0.2:80", {true, 40}}};
    auto r = builder.build({&vs, 1}, health);
    CHECK(only(r).destinations.at(ep("10.0.0.2:80")).weight == 40);
    CHECK(r.virtual_servers.at("web").healthy_weight == 42);
}

TEST_CASE("a failed real server is removed, or kept at weight 0 with on_failure inhibit") {
    health_map health{{"web/10.0.0.2:80", {false, {}}}};
    {
        desired_builder builder;
        auto vs = web(failure_policy::remove);
        auto r = builder.build({&vs, 1}, health);
        CHECK_FALSE(only(r).destinations.contains(ep("10.0.0.2:80")));
        CHECK(only(r).destinations.size() == 1);
    }
    {
        desired_builder builder;
        auto vs = web(failure_policy::inhibit);
        auto r = builder.build({&vs, 1}, health);
        REQUIRE(only(r).destinations.contains(ep("10.0.0.2:80")));
        CHECK(only(r).destinations.at(ep("10.0.0.2:80")).weight == 0);
    }
}

TEST_CASE("persistence sets the persistent flag and the netmask; without it the host prefix") {
    auto key4 = service_key::for_address(protocol::tcp, ep("192.0.2.1:80"));
    auto key6 = service_key::for_address(protocol::udp, ep("[2001:db8::1]:53"));
    service_options options;
    options.persistence_netmask = 24;
    auto plain = make_service(key4, options);
    CHECK(plain.flags == 0);
    CHECK(plain.netmask == 32);
    options.persistence_timeout = 300;
    auto sticky = make_service(key4, options);
    CHECK(sticky.flags == service_flags::persistent);
    CHECK(sticky.timeout == 300);
    CHECK(sticky.netmask == 24);
    service_options hashed;
    hashed.sched = scheduler::sh;
    hashed.one_packet = true;
    hashed.sched_flag_1 = true;
    hashed.sched_flag_2 = true;
    auto v6 = make_service(key6, hashed);
    CHECK(v6.netmask == 128);
    CHECK(v6.scheduler == "sh");
    CHECK(v6.flags ==
          (service_flags::one_packet | service_flags::sched_flag_1 | service_flags::sched_flag_2));
}

TEST_CASE("quorum: up at quorum + hysteresis, down below quorum - hysteresis, holds between") {
    // quorum 10, hysteresis 2: up at >= 12, down at < 8.
    CHECK(next_quorum_state(std::nullopt, 10, 10, 2));
    CHECK_FALSE(next_quorum_state(std::nullopt, 9, 10, 2));
    CHECK(next_quorum_state(true, 8, 10, 2));
    CHECK_FALSE(next_quorum_state(true, 7, 10, 2));
    CHECK_FALSE(next_quorum_state(false, 11, 10, 2));
    CHECK(next_quorum_state(false, 12, 10, 2));
    CHECK(next_quorum_state(std::nullopt, 0, 0, 0));  // quorum 0: always up
    CHECK(next_quorum_state(true, 0, 1, 5));          // hysteresis above quorum is clamped
}

TEST_CASE("losing the quorum reports quorum_lost once and the sorry server replaces the pool") {
    desired_builder builder;
    auto vs = web();
    vs.quorum = 4;
    vs.hysteresis = 1;
    vs.sorry_server = ep("10.0.0.99:8080");

    auto r1 = builder.build({&vs, 1}, {});  // 5 healthy: up
    CHECK(r1.events.empty());
    CHECK(r1.virtual_servers.at("web").quorum_up);

    health_map down3{{"web/10.0.0.2:80", {false, {}}}};  // 2 healthy < 4 - 1
    auto r2 = builder.build({&vs, 1}, down3);
    REQUIRE(r2.events.size() == 1);
    CHECK_FALSE(r2.events[0].up);
    CHECK(r2.events[0].healthy_weight == 2);
    CHECK(r2.events[0].sorry_server_active);
    const auto& e = only(r2);
    REQUIRE(e.destinations.size() == 1);
    CHECK(e.destinations.begin()->first == ep("10.0.0.99:8080"));
    CHECK(e.destinations.begin()->second.weight == 1);

    auto r3 = builder.build({&vs, 1}, down3);  // still down: no new event
    CHECK(r3.events.empty());

    health_map light{{"web/10.0.0.2:80", {true, 2}}};  // 4 healthy: below 4 + 1, stays down
    auto r4 = builder.build({&vs, 1}, light);
    CHECK(r4.events.empty());
    CHECK_FALSE(r4.virtual_servers.at("web").quorum_up);

    auto r5 = builder.build({&vs, 1}, {});  // 5 healthy: regained
    REQUIRE(r5.events.size() == 1);
    CHECK(r5.events[0].up);
    CHECK(only(r5).destinations.size() == 2);
}

TEST_CASE("without a sorry server a virtual server below quorum keeps its healthy servers") {
    desired_builder builder;
    auto vs = web();
    vs.quorum = 10;
    auto r = builder.build({&vs, 1}, {});
    REQUIRE(r.events.size() == 1);  // first build already below quorum: reported
    CHECK_FALSE(r.events[0].up);
    CHECK(only(r).destinations.size() == 2);
}

TEST_CASE("a virtual server that leaves the config starts afresh when it returns") {
    desired_builder builder;
    auto vs = web();
    vs.quorum = 10;
    builder.build({&vs, 1}, {});
    builder.build({}, {});
    auto r = builder.build({&vs, 1}, {});
    CHECK(r.events.size() == 1);
}
