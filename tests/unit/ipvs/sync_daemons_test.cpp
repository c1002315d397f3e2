#include "ipvs/sync_daemons.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

TEST_CASE("sync daemon plan: master while MASTER, backup otherwise, restart on new settings") {
    sync_daemon settings{sync_role::master, "eth0", 7, 0, {}, 0, 0};
    auto plan = plan_sync_daemons(settings, sync_mode::master, {});
    REQUIRE(plan.start.size() == 1);
    CHECK(plan.start[0].role == sync_role::master);
    CHECK(plan.stop.empty());

    sync_daemon running_master{sync_role::master, "eth0", 7, 1472, {}, 8848, 1};
    CHECK(plan_sync_daemons(settings, sync_mode::master, {&running_master, 1}).empty());

    plan = plan_sync_daemons(settings, sync_mode::backup, {&running_master, 1});
    CHECK(plan.stop == std::vector<sync_role>{sync_role::master});
    REQUIRE(plan.start.size() == 1);
    CHECK(plan.start[0].role == sync_role::backup);

    auto moved = settings;
    moved.interface = "eth1";
    plan = plan_sync_daemons(moved, sync_mode::master, {&running_master, 1});
    CHECK(plan.stop.size() == 1);
    CHECK(plan.start.size() == 1);

    CHECK(plan_sync_daemons(std::nullopt, sync_mode::master, {&running_master, 1}).empty());
    plan = plan_sync_daemons(settings, sync_mode::none, {&running_master, 1});
    CHECK(plan.stop.size() == 1);
    CHECK(plan.start.empty());
}
