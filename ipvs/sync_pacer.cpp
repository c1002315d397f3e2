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
        consider(*last_ + std::max(retry_, min_));
    }
    if (resync_.count() > 0) {
        consider(*last_ + std::max(resync_, min_));
    }
    return next;
}

const char* sync_pacer::reason() const {
    if (pending_) {
        return last_ ? "requested" : "startup";
    }
    return failed_ ? "retry" : "resync";
}

}  // namespace vigil::ipvs
