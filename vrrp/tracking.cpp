#include "vrrp/tracking.hpp"

#include <algorithm>

namespace vigil::vrrp {

std::string_view to_string(tracker_kind kind) {
    switch (kind) {
        case tracker_kind::interface:
            return "interface";
        case tracker_kind::script:
            return "script";
        case tracker_kind::file:
            return "file";
    }
    return "?";
}

priority_outcome effective_priority(std::uint8_t base, const std::vector<tracker_state>& trackers) {
    priority_outcome out;
    long long priority = base;
    for (const auto& t : trackers) {
        if (t.kind == tracker_kind::file) {
            if (t.weight == 0) {
                if (t.value != 0) {
                    out.fault = true;
                    out.faulting.push_back(t.name);
                }
            } else {
                priority += t.value * t.weight;
            }
            continue;
        }
        if (t.weight == 0) {
            if (!t.healthy) {
                out.fault = true;
                out.faulting.push_back(t.name);
            }
        } else if (t.weight > 0 && t.healthy) {
            priority += t.weight;
        } else if (t.weight < 0 && !t.healthy) {
            priority += t.weight;
        }
    }
    // An owner's 255 is what makes it the owner: trackers never lower it.
    out.priority = base == 255 ? std::uint8_t{255}
                               : static_cast<std::uint8_t>(std::clamp<long long>(priority, 1, 254));
    return out;
}

std::optional<bool> script_counter::record(bool success) {
    if (success == healthy_) {
        streak_ = 0;
        return std::nullopt;
    }
    if (++streak_ < (healthy_ ? fall_ : rise_)) {
        return std::nullopt;
    }
    healthy_ = success;
    streak_ = 0;
    return healthy_;
}

}  // namespace vigil::vrrp
