#include "vrrp/announcer.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

// Runs the schedule on simulated time for `span` and returns when each round was sent,
// relative to the start. `midway` runs half way through.
std::vector<std::chrono::milliseconds> rounds_during(announce_spec spec,
                                                     std::chrono::milliseconds span,
                                                     std::function<void(announcer&)> midway = {}) {
    manual_clock clock;
    auto start = clock.now();
    std::vector<std::chrono::milliseconds> sent;
    announcer a(clock, spec, [&] {
        sent.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - start));
    });
    a.start();
    if (midway) {
        clock.advance(span / 2);
        midway(a);
        clock.advance(span / 2);
    } else {
        clock.advance(span);
    }
    return sent;
}

using ms_list = std::vector<std::chrono::milliseconds>;

}  // namespace

TEST_CASE("a new master sends a burst at once and a second one after master_delay") {
    announce_spec s;
    s.master_repeat = 3;
    s.interval = 20ms;
    s.master_delay = 200ms;
    CHECK(rounds_during(s, 600ms) == ms_list{0ms, 20ms, 40ms, 240ms, 260ms, 280ms});
}

TEST_CASE("master_delay 0 means no second burst") {
    announce_spec s;
    s.master_repeat = 2;
    s.master_delay = 0ms;
    CHECK(rounds_during(s, 300ms) == ms_list{0ms, 0ms});
}

TEST_CASE("a refresh repeats while master") {
    announce_spec s;
    s.master_repeat = 1;
    s.master_delay = 0ms;
    s.master_refresh = 100ms;
    s.master_refresh_repeat = 2;
    CHECK(rounds_during(s, 350ms) == ms_list{0ms, 100ms, 100ms, 200ms, 200ms, 300ms, 300ms});
}

TEST_CASE("no refresh when master_refresh_repeat is 0") {
    announce_spec s;
    s.master_repeat = 1;
    s.master_delay = 0ms;
    s.master_refresh = 100ms;
    s.master_refresh_repeat = 0;
    CHECK(rounds_during(s, 500ms) == ms_list{0ms});
}

TEST_CASE("stop ends the schedule at once") {
    announce_spec s;
    s.master_repeat = 1;
    s.master_delay = 0ms;
    s.master_refresh = 50ms;
    auto sent = rounds_during(s, 600ms, [](announcer& a) {
        CHECK(a.running());
        a.stop();
        CHECK_FALSE(a.running());
    });
    CHECK(sent == ms_list{0ms, 50ms, 100ms, 150ms, 200ms, 250ms, 300ms});
}

TEST_CASE("a restart begins the schedule again from its first burst") {
    announce_spec s;
    s.master_repeat = 2;
    s.interval = 10ms;
    s.master_delay = 0ms;
    auto sent = rounds_during(s, 100ms, [](announcer& a) { a.start(); });
    CHECK(sent == ms_list{0ms, 10ms, 50ms, 60ms});
}
