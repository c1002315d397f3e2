#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::vrrp {

// Weighted trackers change an instance's effective priority, as keepalived's track_interface,
// track_script and track_file do. This is the arithmetic only; the shells feed it observations.

enum class tracker_kind { interface, script, file };
std::string_view to_string(tracker_kind kind);

struct tracker_state {
    std::string name;
    tracker_kind kind = tracker_kind::script;
    int weight = 0;  // -253..253; 0 = the instance faults while this tracker fails
    bool healthy = true;
    // track_file: the integer the file holds (multiplied by weight); unused otherwise.
    long long value = 0;
};

struct priority_outcome {
    std::uint8_t priority = 0;          // 1..254, or 255 for an owner
    bool fault = false;                 // a weight-0 tracker fails
    std::vector<std::string> faulting;  // which ones
};

// keepalived's rules: a positive weight is added while the tracker is healthy, a negative one
// while it fails; a weight of 0 faults the instance while it fails; a file adds value x weight (a
// file tracker with weight 0 faults on a non-zero value). The result is clamped to 1..254; an
// address owner (255) keeps 255 whatever the trackers say, but can still fault.
priority_outcome effective_priority(std::uint8_t base, const std::vector<tracker_state>& trackers);

// Consecutive-result counter for track_script: healthy after `rise` successes in a row, failed
// after `fall` failures in a row. Starts failed until proven, so a node never claims a priority
// bonus it has not earned.
class script_counter {
  public:
    script_counter(unsigned rise, unsigned fall)
        : rise_(rise < 1 ? 1 : rise), fall_(fall < 1 ? 1 : fall) {}
    // Returns the new state when this result changes it.
    std::optional<bool> record(bool success);
    bool healthy() const { return healthy_; }

  private:
    unsigned rise_;
    unsigned fall_;
    bool healthy_ = false;
    unsigned streak_ = 0;
};

}  // namespace vigil::vrrp
