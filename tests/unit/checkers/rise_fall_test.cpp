#include "checkers/rise_fall.hpp"

#include <doctest/doctest.h>

using namespace vigil::checkers;

TEST_CASE("an up server goes down after fall consecutive failures") {
    rise_fall counter(2, 3, health::up);
    CHECK_FALSE(counter.record(false));
    CHECK(counter.transition_pending());
    CHECK_FALSE(counter.record(false));
    CHECK(counter.record(false) == health::down);
    CHECK(counter.state() == health::down);
    CHECK_FALSE(counter.transition_pending());
}

TEST_CASE("a success between failures resets the fall count") {
    rise_fall counter(1, 2, health::up);
    CHECK_FALSE(counter.record(false));
    CHECK_FALSE(counter.record(true));
    CHECK_FALSE(counter.transition_pending());
    CHECK_FALSE(counter.record(false));
    CHECK(counter.record(false) == health::down);
}

TEST_CASE("a down server comes up after rise consecutive successes") {
    rise_fall counter(3, 1, health::down);
    CHECK_FALSE(counter.record(true));
    CHECK_FALSE(counter.record(true));
    CHECK_FALSE(counter.record(false));  // resets
    CHECK_FALSE(counter.record(true));
    CHECK_FALSE(counter.record(true));
    CHECK(counter.record(true) == health::up);
}

TEST_CASE("rise and fall of 1 follow every result") {
    rise_fall counter(1, 1, health::down);
    CHECK(counter.record(true) == health::up);
    CHECK(counter.record(false) == health::down);
    CHECK_FALSE(counter.record(false));
}
