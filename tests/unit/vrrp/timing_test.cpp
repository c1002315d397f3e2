#include "vrrp/timing.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

TEST_CASE("VRRPv2 advert intervals are whole seconds from 1 to 255") {
    CHECK_FALSE(advert_interval_error(protocol_version::v2, 1s));
    CHECK_FALSE(advert_interval_error(protocol_version::v2, 255s));
    CHECK(advert_interval_error(protocol_version::v2, 1500ms)->find("whole seconds") !=
          std::string::npos);
    CHECK(advert_interval_error(protocol_version::v2, 256s));
    CHECK(advert_interval_error(protocol_version::v2, 0s));
}

TEST_CASE("VRRPv3 advert intervals are centiseconds from 10ms to 40.95s") {
    CHECK_FALSE(advert_interval_error(protocol_version::v3, 10ms));
    CHECK_FALSE(advert_interval_error(protocol_version::v3, 40950ms));
    CHECK(advert_interval_error(protocol_version::v3, 15ms)->find("centiseconds") !=
          std::string::npos);
    CHECK(advert_interval_error(protocol_version::v3, 40960ms));
    CHECK(advert_interval_error(protocol_version::v3, 0ms));
}

TEST_CASE("master down interval is three adverts plus skew, as keepalived computes it") {
    // Priority 100 at 100ms: skew = 156 * 100000us / 256 = 60937us; 3 * 100ms + skew = 360.937ms.
    auto timing = compute_election_timing(100, 100ms);
    CHECK(timing.skew_time == 60937us);
    CHECK(timing.master_down_interval == 360937us);
    // Priority 255 skews least; priority 1 most.
    CHECK(compute_election_timing(255, 1s).skew_time == 3906us);
    CHECK(compute_election_timing(1, 1s).skew_time == 996093us);
}
