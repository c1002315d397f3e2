#include "checkers/scheduler.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

using namespace vigil;
using namespace vigil::checkers;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + 1000h;

probe_timing timing(duration interval, duration recheck, duration timeout) {
    return probe_timing{interval, recheck, timeout};
}

}  // namespace

TEST_CASE("first runs are spread across one interval so 10,000 checks never fire together") {
    random_source random(42);
    scheduler s(random);
    for (probe_id id = 1; id <= 10000; ++id) {
        s.add(id, timing(1s, 1s, 500ms), t0);
    }
    // Every first run lies within [t0, t0 + interval).
    std::map<long, int> per_10ms;
    for (probe_id id = 1; id <= 10000; ++id) {
        auto at = *s.queued_at(id);
        CHECK(at >= t0);
        CHECK(at < t0 + 1s);
        per_10ms[std::chrono::duration_cast<std::chrono::milliseconds>(at - t0).count() / 10]++;
    }
    // Uniform: 100 buckets of 10 ms hold about 100 each; none is a burst.
    CHECK(per_10ms.size() == 100);
    for (auto [bucket, count] : per_10ms) {
        CHECK(count < 200);
    }
    // Nothing is due before its time.
    CHECK(s.poll(t0 - 1ms).start.empty());
}

TEST_CASE("the random source alone decides the jitter: same seed, same schedule; else another") {
    auto first_runs = [](std::uint64_t seed) {
        random_source random(seed);
        scheduler s(random);
        std::vector<time_point> out;
        for (probe_id id = 1; id <= 100; ++id) {
            s.add(id, timing(5s, 1s, 1s), t0);
            out.push_back(*s.queued_at(id));
        }
        return out;
    };
    auto a = first_runs(7);
    CHECK(a == first_runs(7));
    CHECK(a != first_runs(8));
    // The jitter spreads the starts: 100 probes over 5 s land on (nearly) 100 distinct times,
    // spanning most of the interval, not all at t0.
    std::set<time_point> distinct(a.begin(), a.end());
    CHECK(distinct.size() >= 95);
    auto [earliest, latest] = std::minmax_element(a.begin(), a.end());
    CHECK(*latest - *earliest >= 4s);
}

TEST_CASE("a probe runs every interval after its previous start") {
    random_source random(1);
    scheduler s(random);
    s.add(1, timing(2s, 500ms, 1s), t0);
    auto first = *s.next_wakeup();
    auto work = s.poll(first);
    REQUIRE(work.start == std::vector<probe_id>{1});
    CHECK(s.running(1));
    CHECK(s.finish(1, first + 30ms, false));
    CHECK(s.next_wakeup() == first + 2s);
    CHECK(s.poll(first + 2s - 1ms).start.empty());
    CHECK(s.poll(first + 2s).start.size() == 1);
}

TEST_CASE("while a transition is pending the probe runs at the recheck interval") {
    random_source random(1);
    scheduler s(random);
    s.add(1, timing(10s, 1s, 500ms), t0);
    auto first = *s.next_wakeup();
    s.poll(first);
    s.finish(1, first + 10ms, true);
    CHECK(s.next_wakeup() == first + 1s);
    s.poll(first + 1s);
    s.finish(1, first + 1s + 10ms, false);
    CHECK(s.next_wakeup() == first + 11s);
}

TEST_CASE("the recheck interval is never longer than the interval") {
    random_source random(1);
    scheduler s(random);
    s.add(1, timing(1s, 5s, 500ms), t0);
    auto first = *s.next_wakeup();
    s.poll(first);
    s.finish(1, first, true);
    CHECK(s.next_wakeup() == first + 1s);
}

TEST_CASE("a probe never starts while its previous run is still going") {
    random_source random(1);
    scheduler s(random);
    s.add(1, timing(1s, 1s, 5s), t0);  // a timeout longer than the interval
    auto first = *s.next_wakeup();
    CHECK(s.poll(first).start.size() == 1);
    // One, two, three intervals later the run is still going: nothing starts.
    CHECK(s.poll(first + 1s).start.empty());
    CHECK(s.poll(first + 3s).start.empty());
    // It ran past its interval: the next run starts at once when it ends.
    s.finish(1, first + 4s, false);
    CHECK(s.next_wakeup() == first + 4s);
}

TEST_CASE("a run still going at its timeout is reported timed out once") {
    random_source random(1);
    scheduler s(random);
    s.add(1, timing(5s, 1s, 2s), t0);
    auto first = *s.next_wakeup();
    s.poll(first);
    CHECK(s.next_wakeup() == first + 2s);
    CHECK(s.poll(first + 2s - 1ms).timed_out.empty());
    auto work = s.poll(first + 2s);
    CHECK(work.timed_out == std::vector<probe_id>{1});
    CHECK(work.start.empty());
    // Until the shell reports it, nothing is queued for it and it is not started again.
    CHECK_FALSE(s.next_wakeup().has_value());
    CHECK(s.running(1));
    CHECK(s.finish(1, first + 2s, true));
    CHECK(s.next_wakeup() == first + 2s);  // recheck 1s after start is already past
}

TEST_CASE("a late or doubled answer is refused") {
    random_source random(1);
    scheduler s(random);
    s.add(1, timing(5s, 1s, 2s), t0);
    CHECK_FALSE(s.finish(1, t0, false));  // never started
    auto first = *s.next_wakeup();
    s.poll(first);
    CHECK(s.finish(1, first + 1ms, false));
    CHECK_FALSE(s.finish(1, first + 2ms, false));
    s.remove(1);
    CHECK_FALSE(s.finish(1, first + 3ms, false));
    CHECK_FALSE(s.contains(1));
    CHECK_FALSE(s.next_wakeup().has_value());
}

TEST_CASE("removing a running probe drops its deadline") {
    random_source random(3);
    scheduler s(random);
    s.add(1, timing(1s, 1s, 500ms), t0);
    s.add(2, timing(1s, 1s, 500ms), t0);
    auto first = *s.next_wakeup();
    s.poll(first);
    s.remove(1);
    s.remove(2);
    CHECK(s.size() == 0);
    CHECK_FALSE(s.next_wakeup().has_value());
}

TEST_CASE("due probes come out in order of their due time") {
    random_source random(9);
    scheduler s(random);
    for (probe_id id = 1; id <= 50; ++id) {
        s.add(id, timing(1s, 1s, 100ms), t0);
    }
    std::vector<std::pair<time_point, probe_id>> expected;
    for (probe_id id = 1; id <= 50; ++id) {
        expected.emplace_back(*s.queued_at(id), id);
    }
    std::sort(expected.begin(), expected.end());
    auto work = s.poll(t0 + 1s);
    REQUIRE(work.start.size() == 50);
    for (std::size_t i = 0; i < 50; ++i) {
        CHECK(work.start[i] == expected[i].second);
    }
}

TEST_CASE(
    "a start limit leaves the other due runs queued in order, and says how long each waited") {
    random_source random(5);
    scheduler s(random);
    for (probe_id id = 1; id <= 5; ++id) {
        s.add(id, timing(1s, 1s, 500ms), t0);
    }
    std::vector<probe_id> by_due{1, 2, 3, 4, 5};
    std::sort(by_due.begin(), by_due.end(),
              [&](probe_id a, probe_id b) { return *s.queued_at(a) < *s.queued_at(b); });
    auto first_due = *s.queued_at(by_due[0]);
    // All five are due at t0 + 2 s; only two slots are free.
    auto work = s.poll(t0 + 2s, 2);
    REQUIRE(work.start == std::vector<probe_id>{by_due[0], by_due[1]});
    REQUIRE(work.waited.size() == 2);
    CHECK(work.waited[0] == std::chrono::duration_cast<duration>(t0 + 2s - first_due));
    CHECK_FALSE(s.running(by_due[2]));
    // No slot: nothing starts, and the waiting runs keep their due times and their order.
    CHECK(s.poll(t0 + 2s + 100ms, 0).start.empty());
    auto next = s.poll(t0 + 2s + 200ms, 2);
    CHECK(next.start == std::vector<probe_id>{by_due[2], by_due[3]});
    // The timeout counts from the actual start, not from the due time.
    CHECK(s.queued_at(by_due[2]) == t0 + 2s + 200ms + 500ms);
    CHECK(s.next_deadline() == t0 + 2s + 500ms);
}

TEST_CASE("timeouts are reported even when no slot is free for a start") {
    random_source random(5);
    scheduler s(random);
    s.add(1, timing(1s, 1s, 500ms), t0);
    s.add(2, timing(1s, 1s, 500ms), t0);
    auto work = s.poll(t0 + 1s, 1);
    REQUIRE(work.start.size() == 1);
    auto late = s.poll(t0 + 1s + 500ms, 0);
    CHECK(late.timed_out == work.start);
    CHECK(late.start.empty());
}
