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

TEST_CASE("VRRPv3 master down interval is three adverts plus a skew scaled by the interval") {
    // Priority 100 at 100ms: skew = 156 * 100000us / 256 = 60937us; 3 * 100ms + skew = 360.937ms.
    auto timing = compute_election_timing(protocol_version::v3, 100, 100ms);
    CHECK(timing.skew_time == 60937us);
    CHECK(timing.master_down_interval == 360937us);
    // Priority 255 skews least; priority 1 most.
    CHECK(compute_election_timing(protocol_version::v3, 255, 1s).skew_time == 3906us);
    CHECK(compute_election_timing(protocol_version::v3, 1, 1s).skew_time == 996093us);
    // At 3 s the skew is three times the 1 s one.
    CHECK(compute_election_timing(protocol_version::v3, 100, 3s).skew_time == 1828125us);
}

TEST_CASE("VRRPv2 skew time is (256 - priority) / 256 seconds whatever the advert interval") {
    // RFC 3768 6.1, as keepalived computes it: 156 * 1000000us / 256 = 609375us.
    auto at_1s = compute_election_timing(protocol_version::v2, 100, 1s);
    CHECK(at_1s.skew_time == 609375us);
    CHECK(at_1s.master_down_interval == 3609375us);
    auto at_3s = compute_election_timing(protocol_version::v2, 100, 3s);
    CHECK(at_3s.skew_time == 609375us);
    CHECK(at_3s.master_down_interval == 9609375us);
    CHECK(compute_election_timing(protocol_version::v2, 255, 3s).skew_time == 3906us);
    CHECK(compute_election_timing(protocol_version::v2, 1, 10s).skew_time == 996093us);
}
