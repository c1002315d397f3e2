#include "ipvs/change_budget.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::ipvs;
using namespace std::chrono_literals;

TEST_CASE("budget: a burst goes at once, the rest waits for the window's end") {
    change_budget b(3, 200ms);
    time_point t{10s};
    CHECK(b.try_take(t));
    CHECK(b.try_take(t + 1ms));
    CHECK(b.try_take(t + 2ms));
    CHECK_FALSE(b.try_take(t + 3ms));
    CHECK(b.window_end() == t + 200ms);
    b.batch_sent(t + 200ms);  // the waiting batch counts in the window it opens
    CHECK(b.try_take(t + 201ms));
    CHECK(b.try_take(t + 202ms));
    CHECK_FALSE(b.try_take(t + 203ms));
    CHECK(b.try_take(t + 400ms));  // a quiet window later: at once again
}
