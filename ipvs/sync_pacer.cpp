#include "ipvs/sync_pacer.hpp"

#include <algorithm>

namespace vigil::ipvs {

std::optional<time_point> sync_pacer::due() const {
    if (!last_) {
        return time_point::min();
    }
    std::optional<time_point> next;
    auto consider = [&](time_point t) { next = next ? std::min(*next, t) : t; };
    if (pending_) {
        consider(*last_ + min_);
    }
    if (failed_) {
        consider(*last_ + std::max(retry_delay(), min_));
    }
    if (resync_.count() > 0) {
        consider(*last_ + std::max(resync_, min_));
    }
    return next;
}

sync_pacer::duration sync_pacer::retry_delay() const {
    duration cap = std::max({resync_, retry_, duration{60'000}});
    duration delay = retry_;
    for (unsigned i = 1; i < consecutive_failures_ && delay < cap; ++i) {
        delay *= 2;
    }
    return std::min(delay, cap);
}

const char* sync_pacer::reason() const {
    if (pending_) {
        return last_ ? "requested" : "startup";
    }
    return failed_ ? "retry" : "resync";
}

}  // namespace vigil::ipvs
