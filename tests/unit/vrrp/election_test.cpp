#include "vrrp/election.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

ip_address addr(const char* text) {
    return *parse_address(text);
}

election_spec config_v3(std::uint8_t priority, const char* primary = "10.0.0.1") {
    election_spec c;
    c.priority = priority;
    c.version = protocol_version::v3;
    c.advert_interval = 100ms;
    c.virtual_addresses = {addr("10.0.0.100")};
    c.primary_address = addr(primary);
    return c;
}

received_advert advert_from(const char* source, std::uint8_t priority,
                            protocol_version version = protocol_version::v3,
                            duration interval = 100ms) {
    received_advert a;
    a.version = version;
    a.priority = priority;
    a.interval = interval;
    a.addresses = {addr("10.0.0.100")};
    a.source = addr(source);
    return a;
}

template <class T>
int count_of(const actions& list) {
    int n = 0;
    for (const auto& a : list) {
        n += std::holds_alternative<T>(a) ? 1 : 0;
    }
    return n;
}

std::optional<transition> transition_in(const actions& list) {
    for (const auto& a : list) {
        if (const auto* t = std::get_if<transition>(&a)) {
            return *t;
        }
    }
    return std::nullopt;
}

std::optional<drop_reason> drop_in(const actions& list) {
    for (const auto& a : list) {
        if (const auto* d = std::get_if<drop>(&a)) {
            return d->reason;
        }
    }
    return std::nullopt;
}

// Drives an instance on simulated time: fires its timer whenever time passes its deadline.
struct simulation {
    election router;
    time_point now{};
    actions log;

    explicit simulation(election_spec c) : router(std::move(c)) {}

    void start(bool link = true) { append(router.start(now, link)); }
    void advance_to(time_point until) {
        while (router.deadline() && *router.deadline() <= until) {
            now = *router.deadline();
            append(router.on_timer(now));
        }
        now = until;
    }
    void advance(mono_clock::duration by) { advance_to(now + by); }
    actions receive(const received_advert& a) {
        auto out = router.on_advert(a, now);
        append(out);
        return out;
    }
    void append(const actions& more) { log.insert(log.end(), more.begin(), more.end()); }
};

}  // namespace

TEST_CASE("a backup that hears no master becomes master after Master_Down_Interval") {
    simulation sim(config_v3(100));
    sim.start();
    CHECK(sim.router.current_state() == state::backup);
    // 3 x 100ms + (256-100) x 100ms / 256 = 360.937ms
    CHECK(*sim.router.deadline() - sim.now == 360937us);
    sim.advance(360936us);
    CHECK(sim.router.current_state() == state::backup);
    sim.advance(1us);
    CHECK(sim.router.current_state() == state::master);
    auto t = transition_in(sim.log);
    REQUIRE(t);
    CHECK(t->to == state::backup);  // the first transition was the startup one
    CHECK(sim.router.master_address() == addr("10.0.0.1"));
}

TEST_CASE("becoming master sends an advert, adds the VIPs and announces them, in that order") {
    election router(config_v3(100));
    router.start({}, true);
    auto out = router.on_timer(*router.deadline());
    REQUIRE(out.size() == 4);
    CHECK(std::get<send_advert>(out[0]).priority == 100);
    CHECK(std::holds_alternative<add_vips>(out[1]));
    CHECK(std::holds_alternative<announce>(out[2]));
    auto t = std::get<transition>(out[3]);
    CHECK(t.from == state::backup);
    CHECK(t.to == state::master);
    CHECK(t.reason == transition_reason::master_down);
}

TEST_CASE("the address owner (priority 255) becomes master at once") {
    simulation sim(config_v3(255));
    sim.start();
    CHECK(sim.router.current_state() == state::master);
    CHECK(transition_in(sim.log)->reason == transition_reason::address_owner);
    CHECK(count_of<add_vips>(sim.log) == 1);
}

TEST_CASE("a master advertises every advert interval") {
    simulation sim(config_v3(255));
    sim.start();
    sim.log.clear();
    sim.advance(1s);
    CHECK(count_of<send_advert>(sim.log) == 10);
}

TEST_CASE("a backup that keeps hearing a higher-priority master stays backup") {
    simulation sim(config_v3(100));
    sim.start();
    for (int i = 0; i < 50; ++i) {
        sim.receive(advert_from("10.0.0.2", 150));
        sim.advance(100ms);
    }
    CHECK(sim.router.current_state() == state::backup);
    CHECK(sim.router.master_address() == addr("10.0.0.2"));
}

TEST_CASE("a backup takes over Skew_Time after the master sends priority 0") {
    simulation sim(config_v3(100));
    sim.start();
    sim.receive(advert_from("10.0.0.2", 150));
    sim.advance(50ms);
    sim.receive(advert_from("10.0.0.2", 0));
    CHECK(*sim.router.deadline() - sim.now == 60937us);  // (256-100) x 100ms / 256
    sim.advance(60936us);
    CHECK(sim.router.current_state() == state::backup);
    sim.advance(1us);
    CHECK(sim.router.current_state() == state::master);
}

TEST_CASE("a master that hears a higher priority steps down and releases the VIPs") {
    simulation sim(config_v3(100));
    sim.start();
    sim.advance(1s);
    REQUIRE(sim.router.current_state() == state::master);
    auto out = sim.receive(advert_from("10.0.0.2", 150));
    CHECK(sim.router.current_state() == state::backup);
    CHECK(count_of<remove_vips>(out) == 1);
    // One last advert so the winner hears a lower master and re-announces the VIPs.
    REQUIRE(std::holds_alternative<send_advert>(out.front()));
    CHECK(std::get<send_advert>(out.front()).priority == 100);
    CHECK(transition_in(out)->reason == transition_reason::higher_priority);
    CHECK(sim.router.master_address() == addr("10.0.0.2"));
}

TEST_CASE("equal priority is broken by the higher primary address") {
    SUBCASE("the sender's address is higher: step down") {
        simulation sim(config_v3(100, "10.0.0.1"));
        sim.start();
        sim.advance(1s);
        sim.receive(advert_from("10.0.0.2", 100));
        CHECK(sim.router.current_state() == state::backup);
    }
    SUBCASE("our address is higher: stay master") {
        simulation sim(config_v3(100, "10.0.0.3"));
        sim.start();
        sim.advance(1s);
        auto out = sim.receive(advert_from("10.0.0.2", 100));
        CHECK(sim.router.current_state() == state::master);
        CHECK(count_of<send_advert>(out) == 1);  // re-asserts itself
    }
}

TEST_CASE("a master that hears a lower-priority master re-asserts itself at once") {
    // Split brain healing: after a partition both sides are master; the higher one advertises
    // and announces its VIPs immediately so the lower steps down and switches relearn.
    simulation sim(config_v3(150));
    sim.start();
    sim.advance(1s);
    auto out = sim.receive(advert_from("10.0.0.2", 100));
    REQUIRE(out.size() == 2);
    CHECK(std::get<send_advert>(out[0]).priority == 150);
    CHECK(std::holds_alternative<announce>(out[1]));
    CHECK(sim.router.current_state() == state::master);
    CHECK(*sim.router.deadline() == sim.now + 100ms);
    // A stubborn lower master is answered at most once a second, advert and announcement alike.
    sim.advance(50ms);
    out = sim.receive(advert_from("10.0.0.2", 100));
    CHECK(count_of<send_advert>(out) == 0);
    CHECK(count_of<announce>(out) == 0);
    sim.advance(1s);
    out = sim.receive(advert_from("10.0.0.2", 100));
    CHECK(count_of<send_advert>(out) == 1);
    CHECK(count_of<announce>(out) == 1);
}

TEST_CASE("a flood of lower-priority adverts buys one re-assertion a second, not one each") {
    // Each lower advert answered at once would make a master an amplifier for whoever floods it.
    simulation sim(config_v3(150));
    sim.start();
    sim.advance(1s);
    int immediate = 0;
    auto start = sim.now;
    for (int i = 0; i < 1000; ++i) {
        immediate += count_of<send_advert>(sim.receive(advert_from("10.0.0.2", 100)));
        sim.advance(1ms);  // 1000 adverts a second; our own timer runs meanwhile
    }
    CHECK(immediate == 1);
    CHECK(sim.now - start == 1s);
    // Its own schedule goes on: the next regular advert is at most one interval away.
    CHECK(sim.router.current_state() == state::master);
    CHECK(*sim.router.deadline() <= sim.now + 100ms);
}

TEST_CASE("a master answers another router's priority 0 with an advert at once") {
    simulation sim(config_v3(150));
    sim.start();
    sim.advance(1s);
    auto out = sim.receive(advert_from("10.0.0.2", 0));
    REQUIRE(out.size() == 1);
    CHECK(std::get<send_advert>(out[0]).priority == 150);
    CHECK(*sim.router.deadline() == sim.now + 100ms);
    // Not once per packet: a flood of priority 0 is answered once a second.
    sim.advance(10ms);
    CHECK(count_of<send_advert>(sim.receive(advert_from("10.0.0.2", 0))) == 0);
    sim.advance(1s);
    CHECK(count_of<send_advert>(sim.receive(advert_from("10.0.0.2", 0))) == 1);
}

TEST_CASE("with preempt a higher-priority backup takes over from a lower master") {
    simulation sim(config_v3(150));
    sim.start();
    // A lower-priority master is already advertising when we start.
    time_point took_over{};
    for (int i = 0; i < 20 && sim.router.current_state() == state::backup; ++i) {
        sim.receive(advert_from("10.0.0.2", 100));
        sim.advance(100ms);
        if (sim.router.current_state() == state::master) {
            took_over = sim.now;
        }
    }
    CHECK(sim.router.current_state() == state::master);
    // Its adverts are ignored, so it is preempted one Master_Down_Interval after startup.
    CHECK(took_over - time_point{} <= 400ms);
    std::optional<transition> last;
    for (const auto& a : sim.log) {
        if (const auto* t = std::get_if<transition>(&a)) {
            last = *t;
        }
    }
    CHECK(last->reason == transition_reason::preempt);
}

TEST_CASE("without preempt a higher-priority backup leaves a lower master alone") {
    auto c = config_v3(150);
    c.preempt = false;
    simulation sim(c);
    sim.start();
    for (int i = 0; i < 100; ++i) {
        sim.receive(advert_from("10.0.0.2", 100));
        sim.advance(100ms);
    }
    CHECK(sim.router.current_state() == state::backup);
}

TEST_CASE("preempt_delay holds preemption of a lower master for the delay") {
    auto c = config_v3(150);
    c.preempt_delay = 5s;
    simulation sim(c);
    sim.start();
    time_point took_over{};
    for (int i = 0; i < 100 && sim.router.current_state() == state::backup; ++i) {
        sim.receive(advert_from("10.0.0.2", 100));
        sim.advance(100ms);
        took_over = sim.now;
    }
    CHECK(sim.router.current_state() == state::master);
    auto after = took_over - time_point{};
    CHECK(after >= 5s);
    CHECK(after <= 5s + 500ms);
}

TEST_CASE("a VRRPv3 backup adopts the master's advert interval") {
    simulation sim(config_v3(100));
    sim.start();
    sim.receive(advert_from("10.0.0.2", 150, protocol_version::v3, 1s));
    CHECK(sim.router.master_advert_interval() == 1s);
    // 3 x 1s + 156 x 1s / 256 = 3.609375s
    CHECK(*sim.router.deadline() - sim.now == 3609375us);
}

TEST_CASE("a VRRPv2 advert with another interval is dropped") {
    auto c = config_v3(100);
    c.version = protocol_version::v2;
    c.advert_interval = 1s;
    simulation sim(c);
    sim.start();
    auto out = sim.receive(advert_from("10.0.0.2", 150, protocol_version::v2, 2s));
    CHECK(drop_in(out) == drop_reason::interval_mismatch);
    CHECK_FALSE(sim.router.master_address());
}

TEST_CASE("receive checks drop adverts for each reason") {
    auto v2 = config_v3(100);
    v2.version = protocol_version::v2;
    v2.advert_interval = 1s;
    v2.auth_pass = std::array<std::uint8_t, 8>{'s', 'e', 'c', 'r', 'e', 't', '1', '2'};
    auto good = advert_from("10.0.0.2", 150, protocol_version::v2, 1s);
    good.auth_type = 1;
    good.auth_data = *v2.auth_pass;

    SUBCASE("a good advert passes") {
        election router(v2);
        router.start({}, true);
        CHECK_FALSE(drop_in(router.on_advert(good, {})));
    }
    SUBCASE("multicast TTL other than 255") {
        election router(v2);
        auto a = good;
        a.hop_limit = 254;
        CHECK(drop_in(router.on_advert(a, {})) == drop_reason::bad_ttl);
    }
    SUBCASE("another VRRP version") {
        election router(v2);
        auto a = good;
        a.version = protocol_version::v3;
        CHECK(drop_in(router.on_advert(a, {})) == drop_reason::version_mismatch);
    }
    SUBCASE("wrong password") {
        election router(v2);
        auto a = good;
        a.auth_data[7] = '3';
        CHECK(drop_in(router.on_advert(a, {})) == drop_reason::auth_mismatch);
    }
    SUBCASE("no authentication where we expect it") {
        election router(v2);
        auto a = good;
        a.auth_type = 0;
        CHECK(drop_in(router.on_advert(a, {})) == drop_reason::auth_mismatch);
    }
    SUBCASE("our own advert") {
        election router(v2);
        auto a = good;
        a.source = addr("10.0.0.1");
        CHECK(drop_in(router.on_advert(a, {})) == drop_reason::own_advert);
    }
    SUBCASE("a zero interval") {
        election router(v2);
        auto a = good;
        a.interval = 0ms;
        CHECK(drop_in(router.on_advert(a, {})) == drop_reason::bad_interval);
    }
    SUBCASE("a VRRPv2 address list that differs, unless from the owner") {
        election router(v2);
        auto a = good;
        a.addresses = {addr("10.0.0.101")};
        CHECK(drop_in(router.on_advert(a, {})) == drop_reason::address_mismatch);
        a.priority = 255;
        CHECK_FALSE(drop_in(router.on_advert(a, {})));
    }
}

TEST_CASE("a VRRPv3 advert with another address list is dropped unless from the owner") {
    election router(config_v3(100));
    router.start({}, true);
    auto a = advert_from("10.0.0.2", 150);
    a.addresses = {addr("10.0.0.100"), addr("10.0.0.101")};
    CHECK(drop_in(router.on_advert(a, {})) == drop_reason::address_mismatch);
    a.priority = 255;
    CHECK_FALSE(drop_in(router.on_advert(a, {})));
    // Order does not matter.
    election two_vips([] {
        auto c = config_v3(100);
        c.virtual_addresses = {addr("10.0.0.100"), addr("10.0.0.101")};
        return c;
    }());
    a.priority = 150;
    a.addresses = {addr("10.0.0.101"), addr("10.0.0.100")};
    CHECK_FALSE(drop_in(two_vips.on_advert(a, {})));
}

TEST_CASE("in unicast mode only listed peers are heard, whatever their TTL") {
    auto c = config_v3(100);
    c.unicast_peers = {addr("10.0.0.2")};
    election router(c);
    router.start({}, true);
    auto routed = advert_from("10.0.0.2", 150);
    routed.hop_limit = 60;
    CHECK_FALSE(drop_in(router.on_advert(routed, {})));
    CHECK(router.master_address() == addr("10.0.0.2"));
    CHECK(drop_in(router.on_advert(advert_from("10.0.0.9", 150), {})) == drop_reason::unknown_peer);
}

TEST_CASE("losing the link faults the instance and releases the VIPs; link up returns to backup") {
    simulation sim(config_v3(100));
    sim.start();
    sim.advance(1s);
    REQUIRE(sim.router.current_state() == state::master);
    auto down = sim.router.on_link(false, sim.now);
    CHECK(sim.router.current_state() == state::fault);
    CHECK(count_of<remove_vips>(down) == 1);
    CHECK(transition_in(down)->reason == transition_reason::link_down);
    CHECK_FALSE(sim.router.deadline());
    // Adverts are ignored while faulted.
    CHECK(sim.router.on_advert(advert_from("10.0.0.2", 150), sim.now).empty());
    auto up = sim.router.on_link(true, sim.now);
    CHECK(sim.router.current_state() == state::backup);
    CHECK(transition_in(up)->reason == transition_reason::link_up);
    CHECK(count_of<add_vips>(up) == 0);
}

TEST_CASE("an instance started without link is faulted until the link comes up") {
    simulation sim(config_v3(255));
    sim.start(false);
    CHECK(sim.router.current_state() == state::fault);
    sim.advance(10s);
    CHECK(count_of<send_advert>(sim.log) == 0);
    auto up = sim.router.on_link(true, sim.now);
    CHECK(sim.router.current_state() == state::master);
    CHECK(count_of<add_vips>(up) == 1);
}

TEST_CASE("a master that shuts down sends priority 0 and releases the VIPs") {
    simulation sim(config_v3(150));
    sim.start();
    sim.advance(1s);
    auto out = sim.router.shutdown(sim.now);
    REQUIRE(out.size() == 3);
    CHECK(std::get<send_advert>(out[0]).priority == 0);
    CHECK(std::holds_alternative<remove_vips>(out[1]));
    CHECK(std::get<transition>(out[2]).reason == transition_reason::shutdown);
    CHECK_FALSE(sim.router.deadline());
}

TEST_CASE("a backup that shuts down sends nothing") {
    simulation sim(config_v3(100));
    sim.start();
    auto out = sim.router.shutdown(sim.now);
    CHECK(count_of<send_advert>(out) == 0);
    CHECK(count_of<remove_vips>(out) == 0);
}

TEST_CASE("a timer call before the deadline does nothing") {
    election router(config_v3(100));
    router.start({}, true);
    auto deadline = *router.deadline();
    CHECK(router.on_timer(deadline - 1us).empty());
    CHECK(router.current_state() == state::backup);
}

TEST_CASE("a late timer after an advert was processed does not cause a transition") {
    // The shell drains received adverts before firing a timer that woke up late (an event-loop
    // stall); the advert pushes the deadline out and the late wakeup finds nothing due.
    simulation sim(config_v3(100));
    sim.start();
    auto stalled_until = *sim.router.deadline() + 50ms;
    sim.now = stalled_until;
    sim.receive(advert_from("10.0.0.2", 150));
    CHECK(sim.router.on_timer(stalled_until).empty());
    CHECK(sim.router.current_state() == state::backup);
}

TEST_CASE("a lower effective priority lengthens a backup's skew") {
    simulation sim(config_v3(200));
    sim.start();
    sim.router.on_priority(100, sim.now);
    CHECK(sim.router.priority() == 100);
    CHECK(*sim.router.deadline() - sim.now == 360937us);
}

TEST_CASE("a weight-0 tracker failure faults the instance and its recovery returns it to backup") {
    simulation sim(config_v3(150));
    sim.start();
    sim.advance(1s);
    REQUIRE(sim.router.current_state() == state::master);
    auto out = sim.router.on_tracker_fault(true, sim.now);
    CHECK(sim.router.current_state() == state::fault);
    CHECK(count_of<remove_vips>(out) == 1);
    CHECK(transition_in(out)->reason == transition_reason::tracker_fault);
    // The link bouncing does not lift a tracker fault.
    sim.router.on_link(false, sim.now);
    CHECK(sim.router.on_link(true, sim.now).empty());
    CHECK(sim.router.current_state() == state::fault);
    out = sim.router.on_tracker_fault(false, sim.now);
    CHECK(sim.router.current_state() == state::backup);
    CHECK(transition_in(out)->reason == transition_reason::tracker_recovered);
}

TEST_CASE("a gated backup asks its group instead of taking over, and keeps timing") {
    simulation sim(config_v3(150));
    sim.router.set_group_gate(true);
    sim.start();
    auto deadline = *sim.router.deadline();
    auto out = sim.router.on_timer(deadline);
    REQUIRE(out.size() == 1);
    CHECK(std::holds_alternative<request_master>(out[0]));
    CHECK(sim.router.current_state() == state::backup);
    CHECK(sim.router.wants_master());
    CHECK(*sim.router.deadline() > deadline);
    // An advert from a live master withdraws the wish.
    sim.now = deadline;
    sim.receive(advert_from("10.0.0.2", 200));
    CHECK_FALSE(sim.router.wants_master());
    // A forced takeover is reported as the group's.
    out = sim.router.force_master(sim.now);
    CHECK(transition_in(out)->reason == transition_reason::sync_group);
    CHECK(count_of<add_vips>(out) == 1);
}

TEST_CASE("a VRRPv2 backup at 3 s adverts skews by (256 - priority) / 256 seconds") {
    auto c = config_v3(100);
    c.version = protocol_version::v2;
    c.advert_interval = 3s;
    simulation sim(c);
    sim.start();
    auto started = sim.now;
    // Master_Down_Interval: 3 * 3 s + 0.609375 s (not 3 * 3 s + 1.828125 s).
    CHECK(*sim.router.deadline() == started + 9609375us);
    // A resigning master hands over after Skew_Time alone.
    sim.advance(1s);
    sim.receive(advert_from("10.0.0.2", 0, protocol_version::v2, 3s));
    CHECK(*sim.router.deadline() == sim.now + 609375us);
}
