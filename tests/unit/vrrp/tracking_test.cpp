#include "vrrp/tracking.hpp"

#include <doctest/doctest.h>

using namespace vigil::vrrp;

namespace {

tracker_state tracker(tracker_kind kind, int weight, bool healthy, long long value = 0) {
    return tracker_state{"t", kind, weight, healthy, value};
}

}  // namespace

TEST_CASE("a negative weight lowers the priority while its tracker fails") {
    CHECK(effective_priority(150, {tracker(tracker_kind::script, -60, true)}).priority == 150);
    CHECK(effective_priority(150, {tracker(tracker_kind::script, -60, false)}).priority == 90);
}

TEST_CASE("a positive weight raises the priority while its tracker is healthy") {
    CHECK(effective_priority(100, {tracker(tracker_kind::interface, 20, true)}).priority == 120);
    CHECK(effective_priority(100, {tracker(tracker_kind::interface, 20, false)}).priority == 100);
}

TEST_CASE("weights add up and the result is clamped to 1..254") {
    auto up = effective_priority(
        200, {tracker(tracker_kind::script, 50, true), tracker(tracker_kind::interface, 30, true)});
    CHECK(up.priority == 254);
    auto down = effective_priority(20, {tracker(tracker_kind::script, -50, false)});
    CHECK(down.priority == 1);
    CHECK_FALSE(down.fault);
}

TEST_CASE("an address owner keeps priority 255 whatever its trackers say") {
    CHECK(effective_priority(255, {tracker(tracker_kind::script, -100, false)}).priority == 255);
    CHECK(effective_priority(255, {tracker(tracker_kind::script, 0, false)}).fault);
}

TEST_CASE("a failing weight-0 tracker faults the instance and is named") {
    auto outcome =
        effective_priority(100, {tracker(tracker_kind::script, 0, true),
                                 tracker_state{"eth1", tracker_kind::interface, 0, false, 0}});
    CHECK(outcome.fault);
    CHECK(outcome.faulting == std::vector<std::string>{"eth1"});
}

TEST_CASE("a file tracker adds its value times its weight; weight 0 faults on non-zero") {
    CHECK(effective_priority(100, {tracker(tracker_kind::file, -1, true, 40)}).priority == 60);
    CHECK(effective_priority(100, {tracker(tracker_kind::file, 2, true, 10)}).priority == 120);
    CHECK(effective_priority(100, {tracker(tracker_kind::file, 0, true, 0)}).fault == false);
    CHECK(effective_priority(100, {tracker(tracker_kind::file, 0, true, 1)}).fault);
    // Draining a node: a large number pushes it to the floor.
    CHECK(effective_priority(150, {tracker(tracker_kind::file, -1, true, 1000)}).priority == 1);
}

TEST_CASE("a tracked script starts failed and needs rise successes, then fall failures") {
    script_counter counter(2, 3);
    CHECK_FALSE(counter.healthy());
    CHECK_FALSE(counter.record(true));
    CHECK(counter.record(true) == true);
    CHECK_FALSE(counter.record(false));
    CHECK_FALSE(counter.record(false));
    CHECK_FALSE(counter.record(true));  // resets the fall count
    CHECK_FALSE(counter.record(false));
    CHECK_FALSE(counter.record(false));
    CHECK(counter.record(false) == false);
}
