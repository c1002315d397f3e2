#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "base/duration.hpp"

namespace vigil::vrrp {

enum class protocol_version : std::uint8_t { v2 = 2, v3 = 3 };

// The advert interval field is 8 bits of seconds in VRRPv2 (RFC 3768 5.3.7) and 12 bits of
// centiseconds in VRRPv3 (RFC 5798 5.2.7). Returns why `interval` cannot be carried, or nothing.
std::optional<std::string> advert_interval_error(protocol_version version, duration interval);

// The election timers, computed in microseconds as keepalived does so both implementations agree
// to the microsecond on when a backup takes over. Master_Down_Interval is three adverts plus
// Skew_Time; Skew_Time is (256 - priority) / 256 of a second in VRRPv2 (RFC 3768 6.1), whatever
// the interval, and that fraction of the master's advert interval in VRRPv3 (RFC 5798 6.1).
struct election_timing {
    std::chrono::microseconds skew_time;
    std::chrono::microseconds master_down_interval;
};
election_timing compute_election_timing(protocol_version version, std::uint8_t priority,
                                        duration master_advert_interval);

}  // namespace vigil::vrrp
