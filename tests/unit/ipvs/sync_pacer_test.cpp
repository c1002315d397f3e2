#include "ipvs/sync_pacer.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

TEST_CASE("pacer: first sync at once, then rate-limited requests, retries and resyncs") {
    sync_pacer p(1000ms, 30000ms, 5000ms);
    CHECK(p.due() == time_point::min());
    CHECK(std::string(p.reason()) == "startup");
    time_point t0{10s};
    p.synced(t0, false);
    CHECK(p.due() == t0 + 30000ms);
    CHECK(std::string(p.reason()) == "resync");
    p.request();
    CHECK(p.due() == t0 + 1000ms);
    CHECK(std::string(p.reason()) == "requested");
    p.synced(t0 + 1000ms, true);
    CHECK(p.due() == t0 + 6000ms);
    CHECK(std::string(p.reason()) == "retry");

    sync_pacer never(100ms, 0ms, 1000ms);
    never.synced(t0, false);
    CHECK_FALSE(never.due());
}

TEST_CASE("pacer: retries back off while syncs keep failing, and reset after a success") {
    sync_pacer p(100ms, 30000ms, 5000ms);
    time_point t{10s};
    p.synced(t, true);
    CHECK(p.due() == t + 5000ms);
    p.synced(t, true);
    CHECK(p.due() == t + 10000ms);
    p.synced(t, true);
    CHECK(p.due() == t + 20000ms);
    for (int i = 0; i < 10; ++i) {
        p.synced(t, true);
    }
    CHECK(p.retry_delay() == 60000ms);  // capped at the larger of a minute and the resync
    CHECK(p.due() == t + 30000ms);      // the periodic resync comes first
    p.synced(t, false);
    p.synced(t, true);
    CHECK(p.due() == t + 5000ms);
}

TEST_CASE("pacer: new intervals on reload keep the last sync and the failures") {
    sync_pacer p(1000ms, 30000ms, 5000ms);
    time_point t{10s};
    p.synced(t, true);
    p.synced(t, true);
    p.set_intervals(2000ms, 60000ms, 1000ms);
    p.request();
    CHECK(std::string(p.reason()) == "requested");  // not a second "startup"
    CHECK(p.due() == t + 2000ms);                   // the new rate limit, from the last sync
    p.synced(t, true);
    CHECK(p.retry_delay() == 4000ms);  // the third failure in a row, at the new retry interval
}
