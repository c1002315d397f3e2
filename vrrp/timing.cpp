#include "vrrp/timing.hpp"

namespace vigil::vrrp {

std::optional<std::string> advert_interval_error(protocol_version version, duration interval) {
    auto ms = interval.count();
    if (version == protocol_version::v2) {
        if (ms % 1000 != 0) {
            return "VRRPv2 carries the advert interval in whole seconds: " +
                   format_duration(interval) + " is not";
        }
        if (ms < 1000 || ms > 255'000) {
            return "VRRPv2 advert interval must be 1s to 255s, got " + format_duration(interval);
        }
        return std::nullopt;
    }
    if (ms % 10 != 0) {
        return "VRRPv3 carries the advert interval in centiseconds: " + format_duration(interval) +
               " is not a multiple of 10ms";
    }
    if (ms < 10 || ms > 40'950) {
        return "VRRPv3 advert interval must be 10ms to 40.95s, got " + format_duration(interval);
    }
    return std::nullopt;
}

election_timing compute_election_timing(protocol_version version, std::uint8_t priority,
                                        duration master_advert_interval) {
    auto interval = std::chrono::duration_cast<std::chrono::microseconds>(master_advert_interval);
    auto skew_base = version == protocol_version::v2
                         ? std::chrono::microseconds(std::chrono::seconds(1))
                         : interval;
    auto skew = skew_base * (256 - priority) / 256;
    return {skew, 3 * interval + skew};
}

}  // namespace vigil::vrrp
