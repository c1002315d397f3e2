#include "ipvs/desired_state.hpp"

#include <doctest/doctest.h>

#include <random>

#include "ipvs/diff.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;

namespace {

virtual_server_spec spec(const char* name, const char* address, int real_servers,
                         std::uint64_t quorum = 1) {
    virtual_server_spec vs;
    vs.name = name;
    vs.settings = tcp_service(address, "wrr");
    vs.quorum = quorum;
    for (int i = 0; i < real_servers; ++i) {
        auto rs = "10.0." + std::to_string(vs.name.size()) + "." + std::to_string(i + 1) + ":80";
        vs.real_servers.push_back(
            {vs.name + "/" + rs, *parse_endpoint(rs), static_cast<std::uint32_t>(i + 1), 0, 0});
    }
    return vs;
}

}  // namespace

TEST_CASE("a health change touches one destination of one service") {
    desired_state state;
    auto first = state.set_specs({spec("web", "192.0.2.1:80", 3), spec("api", "192.0.2.2:80", 2)});
    CHECK(first.services.size() == 2);
    auto change = state.set_health("web/10.0.3.2:80", {false, {}});
    CHECK(change.services.empty());
    REQUIRE(change.destinations.size() == 1);
    CHECK(change.destinations.begin()->second == ep("10.0.3.2:80"));
    CHECK(state.desired().at(tcp_service("192.0.2.1:80").key).destinations.size() == 2);
    CHECK(state.virtual_servers().at("web").healthy_weight == 4);
    // The same result again changes nothing.
    CHECK(state.set_health("web/10.0.3.2:80", {false, {}}).empty());
    // A name nothing configures is kept, and changes nothing yet.
    CHECK(state.set_health("gone/10.9.9.9:80", {false, {}}).empty());
}

TEST_CASE("a quorum transition touches the whole service and reports the event") {
    desired_state state;
    auto vs = spec("web", "192.0.2.1:80", 2, 3);  // weights 1 + 2 = quorum 3
    vs.sorry_server = ep("10.9.0.1:80");
    state.set_specs({vs});
    auto change = state.set_health("web/10.0.3.1:80", {false, {}});
    CHECK(change.services.size() == 1);
    REQUIRE(change.events.size() == 1);
    CHECK_FALSE(change.events[0].up);
    CHECK(change.events[0].sorry_server_active);
    const auto& dests = state.desired().at(vs.settings.key).destinations;
    REQUIRE(dests.size() == 1);
    CHECK(dests.begin()->first == ep("10.9.0.1:80"));
}

TEST_CASE("unchanged specs on reload change nothing; a changed one keeps its quorum memory") {
    desired_state state;
    auto vs = spec("web", "192.0.2.1:80", 2, 3);
    vs.hysteresis = 1;
    state.set_specs({vs});
    state.set_health("web/10.0.3.2:80", {false, {}});  // healthy 1 < 3 - 1: lost
    REQUIRE_FALSE(state.virtual_servers().at("web").quorum_up);
    CHECK(state.set_specs({vs}).empty());
    vs.real_servers[0].weight = 3;  // healthy 3: inside the hysteresis band, still lost
    auto change = state.set_specs({vs});
    CHECK(change.services.size() == 1);
    CHECK(change.events.empty());
    CHECK_FALSE(state.virtual_servers().at("web").quorum_up);
    // A virtual server that leaves takes its service and its real servers' health with it.
    change = state.set_specs({});
    CHECK(change.services.size() == 1);
    CHECK(state.desired().empty());
    CHECK(state.health().empty());
}

TEST_CASE("incremental changes give the table desired_builder builds from the same inputs") {
    auto web = spec("web", "192.0.2.1:80", 6, 8);
    web.hysteresis = 2;
    web.sorry_server = ep("10.9.0.1:80");
    auto api = spec("api", "192.0.2.2:80", 4, 3);
    api.on_failure = failure_policy::inhibit;
    std::vector<virtual_server_spec> specs{web, api};
    desired_state state;
    desired_builder builder;
    state.set_specs(specs);
    health_map health;
    builder.build(specs, health);
    std::mt19937 random(7);
    for (int step = 0; step < 2000; ++step) {
        const auto& vs = specs[random() % specs.size()];
        const auto& rs = vs.real_servers[random() % vs.real_servers.size()];
        real_server_health h{random() % 2 == 0, std::nullopt};
        if (random() % 4 == 0) {
            h.weight = static_cast<std::uint32_t>(random() % 5);
        }
        health[rs.name] = h;
        state.set_health(rs.name, h);
        auto built = builder.build(specs, health);
        INFO("step " << step);
        REQUIRE(diff(built.desired, state.desired(), {}).empty());
        for (const auto& [name, vs_state] : built.virtual_servers) {
            REQUIRE(state.virtual_servers().at(name).quorum_up == vs_state.quorum_up);
            REQUIRE(state.virtual_servers().at(name).healthy_weight == vs_state.healthy_weight);
        }
    }
}
