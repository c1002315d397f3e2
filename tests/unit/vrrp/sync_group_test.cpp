#include "vrrp/sync_group.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

election_spec member(const char* vip) {
    election_spec c;
    c.priority = 150;
    c.version = protocol_version::v3;
    c.advert_interval = 100ms;
    c.virtual_addresses = {*parse_address(vip)};
    c.primary_address = *parse_address("10.0.0.1");
    return c;
}

received_advert advert(std::uint8_t priority, const char* vip) {
    received_advert a;
    a.version = protocol_version::v3;
    a.priority = priority;
    a.interval = 100ms;
    a.addresses = {*parse_address(vip)};
    a.source = *parse_address("10.0.0.2");
    return a;
}

// Two members, external and internal, as in the NAT case.
struct pair_group {
    election external{member("192.0.2.100")};
    election internal{member("10.1.0.1")};
    sync_group group{"G1"};
    time_point now{};

    pair_group() {
        group.add(external);
        group.add(internal);
    }
    // Feeds a member's actions to the group and the group's moves back, as the node does.
    void settle(election& from, const actions& produced) {
        for (auto& [m, more] : group.react(from, produced, now)) {
            (void)m;
            (void)more;
        }
    }
};

}  // namespace

TEST_CASE("a group goes master only when every member's timer has expired") {
    pair_group g;
    g.external.start(g.now, true);
    g.internal.start(g.now, true);
    // The internal side still hears a master; the external one does not.
    auto deadline = *g.external.deadline();
    g.now = deadline - 50ms;
    g.internal.on_advert(advert(200, "10.1.0.1"), g.now);
    g.now = deadline;
    auto out = g.external.on_timer(g.now);
    g.settle(g.external, out);
    CHECK(g.external.current_state() == state::backup);
    CHECK(g.internal.current_state() == state::backup);
    // Once the internal timer expires too, both go master together.
    g.now = *g.internal.deadline();
    out = g.internal.on_timer(g.now);
    auto moves = g.group.react(g.internal, out, g.now);
    CHECK(g.external.current_state() == state::master);
    CHECK(g.internal.current_state() == state::master);
    CHECK(moves.size() == 2);
}

TEST_CASE("one member stepping down to a higher master takes the group to backup") {
    pair_group g;
    g.external.start(g.now, true);
    g.internal.start(g.now, true);
    g.now = *g.external.deadline();
    g.settle(g.external, g.external.on_timer(g.now));
    g.settle(g.internal, g.internal.on_timer(g.now));
    REQUIRE(g.internal.current_state() == state::master);
    auto out = g.external.on_advert(advert(200, "192.0.2.100"), g.now);
    auto moves = g.group.react(g.external, out, g.now);
    CHECK(g.external.current_state() == state::backup);
    CHECK(g.internal.current_state() == state::backup);
    REQUIRE(moves.size() == 1);
    bool released = false;
    for (const auto& a : moves[0].second) {
        released = released || std::holds_alternative<remove_vips>(a);
    }
    CHECK(released);
}

TEST_CASE("one member's fault faults the group until it recovers") {
    pair_group g;
    g.external.start(g.now, true);
    g.internal.start(g.now, true);
    g.now = *g.external.deadline();
    g.settle(g.external, g.external.on_timer(g.now));
    g.settle(g.internal, g.internal.on_timer(g.now));
    g.settle(g.internal, g.internal.on_link(false, g.now));
    CHECK(g.internal.current_state() == state::fault);
    CHECK(g.external.current_state() == state::fault);
    CHECK_FALSE(g.external.own_fault());
    g.settle(g.internal, g.internal.on_link(true, g.now));
    CHECK(g.internal.current_state() == state::backup);
    CHECK(g.external.current_state() == state::backup);
}

TEST_CASE("a member that recovers while another is still faulted stays in fault") {
    pair_group g;
    g.external.start(g.now, true);
    g.internal.start(g.now, true);
    g.settle(g.internal, g.internal.on_link(false, g.now));
    g.settle(g.external, g.external.on_tracker_fault(true, g.now));
    g.settle(g.internal, g.internal.on_link(true, g.now));
    CHECK(g.internal.current_state() == state::fault);
    g.settle(g.external, g.external.on_tracker_fault(false, g.now));
    CHECK(g.external.current_state() == state::backup);
    CHECK(g.internal.current_state() == state::backup);
}
