#include "announce/announcement_policy.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::announce;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + 1000s;

announcement_inputs healthy() {
    return {};
}
announcement_inputs lost() {
    announcement_inputs in;
    in.quorum_held = false;
    return in;
}

}  // namespace

TEST_CASE("a quorum never lost is announced at once") {
    announcement_policy policy(10s, 0, 0);
    auto d = policy.evaluate(healthy(), node_mode::serving, t0);
    CHECK(d.announce);
    CHECK_FALSE(d.reason);
    CHECK_FALSE(d.hold_until);
}

TEST_CASE(
    "quorum loss withdraws at once, and the quorum must hold for the hold-down before the "
    "prefix is announced again") {
    announcement_policy policy(10s, 0, 0);
    CHECK(policy.evaluate(healthy(), node_mode::serving, t0).announce);
    auto down = policy.evaluate(lost(), node_mode::serving, t0 + 1s);
    CHECK_FALSE(down.announce);
    CHECK(down.reason == withdraw_reason::quorum_lost);
    auto back = policy.evaluate(healthy(), node_mode::serving, t0 + 2s);
    CHECK_FALSE(back.announce);
    CHECK(back.reason == withdraw_reason::hold_down);
    REQUIRE(back.hold_until);
    CHECK(*back.hold_until == t0 + 12s);
    CHECK_FALSE(policy.evaluate(healthy(), node_mode::serving, t0 + 11999ms).announce);
    auto announced = policy.evaluate(healthy(), node_mode::serving, t0 + 12s);
    CHECK(announced.announce);
    CHECK_FALSE(announced.hold_until);
}

TEST_CASE("a flapping quorum restarts the hold-down on every recovery") {
    announcement_policy policy(10s, 0, 0);
    policy.evaluate(lost(), node_mode::serving, t0);
    policy.evaluate(healthy(), node_mode::serving, t0 + 1s);
    policy.evaluate(lost(), node_mode::serving, t0 + 9s);
    auto again = policy.evaluate(healthy(), node_mode::serving, t0 + 10s);
    CHECK_FALSE(again.announce);
    CHECK(*again.hold_until == t0 + 20s);
    CHECK_FALSE(policy.evaluate(healthy(), node_mode::serving, t0 + 19s).announce);
    CHECK(policy.evaluate(healthy(), node_mode::serving, t0 + 20s).announce);
}

TEST_CASE("a zero hold-down announces as soon as the quorum is back") {
    announcement_policy policy(0ms, 0, 0);
    policy.evaluate(lost(), node_mode::serving, t0);
    CHECK(policy.evaluate(healthy(), node_mode::serving, t0 + 1ms).announce);
}

TEST_CASE("stopping, node drain and a drained virtual server withdraw, in that precedence") {
    announcement_policy policy(10s, 0, 0);
    announcement_inputs drained;
    drained.drained = true;
    drained.quorum_held = false;
    CHECK(policy.evaluate(drained, node_mode::stopping, t0).reason == withdraw_reason::stopping);
    CHECK(policy.evaluate(drained, node_mode::draining, t0).reason ==
          withdraw_reason::node_draining);
    CHECK(policy.evaluate(drained, node_mode::serving, t0).reason == withdraw_reason::drained);
    announcement_inputs only_drained;
    only_drained.drained = true;
    CHECK(policy.evaluate(only_drained, node_mode::serving, t0 + 1s).reason ==
          withdraw_reason::drained);
}

TEST_CASE("the hold-down runs while the node drains, so undraining after it needs no wait") {
    announcement_policy policy(10s, 0, 0);
    policy.evaluate(lost(), node_mode::serving, t0);
    policy.evaluate(healthy(), node_mode::draining, t0 + 1s);
    CHECK(policy.evaluate(healthy(), node_mode::serving, t0 + 11s).announce);
}

TEST_CASE("undraining a healthy node announces at once: a drain is no quorum loss") {
    announcement_policy policy(10s, 0, 0);
    CHECK_FALSE(policy.evaluate(healthy(), node_mode::draining, t0).announce);
    CHECK(policy.evaluate(healthy(), node_mode::serving, t0 + 1s).announce);
}

TEST_CASE("the MED grows per real server down and saturates") {
    announcement_policy policy(0ms, 100, 10);
    announcement_inputs in;
    in.servers_down = 3;
    CHECK(policy.evaluate(in, node_mode::serving, t0).med == 130);
    announcement_policy huge(0ms, 0xfffffff0u, 0xffffffffu);
    CHECK(huge.evaluate(in, node_mode::serving, t0).med == 0xffffffffu);
}

TEST_CASE("withdraw reasons have stable names") {
    CHECK(to_string(withdraw_reason::quorum_lost) == "quorum_lost");
    CHECK(to_string(withdraw_reason::node_draining) == "node_draining");
    CHECK(to_string(withdraw_reason::stopping) == "stopping");
    CHECK(to_string(withdraw_reason::bird_error) == "bird_error");
    CHECK(to_string(withdraw_reason::drained) == "drained");
    CHECK(to_string(withdraw_reason::hold_down) == "hold_down");
}
