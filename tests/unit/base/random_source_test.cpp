#include "base/random_source.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace std::chrono_literals;

TEST_CASE("a seeded random source repeats its sequence") {
    random_source a(42);
    random_source b(42);
    for (int i = 0; i < 100; ++i) {
        CHECK(a.uniform(1000ms) == b.uniform(1000ms));
    }
}

TEST_CASE("uniform durations stay within [0, max] and cover the range") {
    random_source random(7);
    duration low = 1000ms;
    duration high = 0ms;
    for (int i = 0; i < 10000; ++i) {
        auto d = random.uniform(1000ms);
        REQUIRE(d >= 0ms);
        REQUIRE(d <= 1000ms);
        low = std::min(low, d);
        high = std::max(high, d);
    }
    CHECK(low < 10ms);
    CHECK(high > 990ms);
    CHECK(random.uniform(0ms) == 0ms);
}
