#include "checkers/flap_detector.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::checkers;
using namespace std::chrono_literals;
using verdict = flap_detector::verdict;

TEST_CASE("transitions up to the threshold within the window are logged one by one") {
    flap_detector d({3, 60s});
    time_point now{};
    for (int i = 0; i < 3; ++i) {
        CHECK(d.on_transition(now) == verdict::log);
        now += 5s;
    }
    CHECK_FALSE(d.flapping());
}

TEST_CASE("the transition past the threshold announces flapping and later ones are quiet") {
    flap_detector d({3, 60s});
    time_point now{};
    for (int i = 0; i < 3; ++i) {
        d.on_transition(now);
        now += 5s;
    }
    CHECK(d.on_transition(now) == verdict::start_flapping);
    CHECK(d.flapping());
    now += 5s;
    CHECK(d.on_transition(now) == verdict::suppress);
    CHECK(d.recent_transitions() == 5);
}

TEST_CASE("transitions spread wider than the window never count as flapping") {
    flap_detector d({3, 60s});
    time_point now{};
    for (int i = 0; i < 20; ++i) {
        CHECK(d.on_transition(now) == verdict::log);
        now += 25s;  // at most 3 in any 60 s
    }
}

TEST_CASE("flapping ends once the state held for a whole window, and is reported once") {
    flap_detector d({2, 30s});
    time_point last{};
    for (int i = 0; i < 3; ++i) {
        last = time_point{} + std::chrono::seconds(i);
        d.on_transition(last);
    }
    REQUIRE(d.flapping());
    CHECK_FALSE(d.settled(last + 29s));
    CHECK(d.settled(last + 31s));
    CHECK_FALSE(d.settled(last + 32s));
    CHECK_FALSE(d.flapping());
    // Afresh: the next transitions are logged again.
    CHECK(d.on_transition(last + 40s) == verdict::log);
}

TEST_CASE("a threshold of 0 never damps") {
    flap_detector d({0, 60s});
    for (int i = 0; i < 100; ++i) {
        CHECK(d.on_transition(time_point{} + std::chrono::seconds(i)) == verdict::log);
    }
}
