#include "base/clock.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <vector>

using namespace vigil;
using namespace std::chrono_literals;

TEST_CASE("a manual clock runs due timers in time order, each at its own expiry") {
    manual_clock clock;
    auto start = clock.now();
    auto late = clock.make_timer();
    auto early = clock.make_timer();
    std::vector<std::pair<int, time_point>> fired;
    late->arm(start + 30ms, [&] { fired.emplace_back(2, clock.now()); });
    early->arm(start + 10ms, [&] { fired.emplace_back(1, clock.now()); });
    clock.advance(20ms);
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] == std::pair{1, start + 10ms});
    CHECK(clock.now() == start + 20ms);
    clock.advance(20ms);
    REQUIRE(fired.size() == 2);
    CHECK(fired[1] == std::pair{2, start + 30ms});
    CHECK(clock.armed_timers() == 0);
}

TEST_CASE("a manual timer re-armed from its handler fires again within the same advance") {
    manual_clock clock;
    auto t = clock.make_timer();
    int ticks = 0;
    std::function<void()> tick = [&] {
        ++ticks;
        t->arm(clock.now() + 10ms, tick);
    };
    t->arm(clock.now() + 10ms, tick);
    clock.advance(35ms);
    CHECK(ticks == 3);
    CHECK(clock.next_expiry() == clock.now() + 5ms);
}

TEST_CASE("a cancelled or destroyed manual timer never fires") {
    manual_clock clock;
    auto cancelled = clock.make_timer();
    auto destroyed = clock.make_timer();
    int fired = 0;
    cancelled->arm(clock.now() + 1ms, [&] { ++fired; });
    destroyed->arm(clock.now() + 1ms, [&] { ++fired; });
    cancelled->cancel();
    destroyed.reset();
    clock.advance(1s);
    CHECK(fired == 0);
    CHECK_FALSE(cancelled->armed_for());
}

TEST_CASE("a steady timer cancelled after its expiry was queued does not run it") {
    // Two timers due at once complete in the same reactor pass, so both completions are queued
    // before either handler runs: whichever runs first cancels the other, which must not run.
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    auto a = clock.make_timer();
    auto b = clock.make_timer();
    int fired = 0;
    auto due = clock.now() + 1ms;
    a->arm(due, [&] {
        ++fired;
        b->cancel();
    });
    b->arm(due, [&] {
        ++fired;
        a->cancel();
    });
    io.run();
    CHECK(fired == 1);
    CHECK_FALSE(a->armed_for());
    CHECK_FALSE(b->armed_for());
}

TEST_CASE("a steady timer destroyed with its expiry queued does not run it") {
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    int fired = 0;
    {
        auto t = clock.make_timer();
        t->arm(clock.now(), [&] { ++fired; });
    }
    io.run();
    CHECK(fired == 0);
}
