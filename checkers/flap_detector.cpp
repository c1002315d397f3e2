#include "checkers/flap_detector.hpp"

namespace vigil::checkers {

void flap_detector::forget_before(time_point cutoff) {
    while (!recent_.empty() && recent_.front() < cutoff) {
        recent_.pop_front();
    }
}

flap_detector::verdict flap_detector::on_transition(time_point now) {
    if (spec_.threshold == 0) {
        return verdict::log;
    }
    recent_.push_back(now);
    forget_before(now - spec_.window);
    if (flapping_) {
        return verdict::suppress;
    }
    if (recent_.size() > spec_.threshold) {
        flapping_ = true;
        return verdict::start_flapping;
    }
    return verdict::log;
}

bool flap_detector::settled(time_point now) {
    if (!flapping_) {
        return false;
    }
    if (!recent_.empty() && now - recent_.back() < spec_.window) {
        return false;
    }
    flapping_ = false;
    recent_.clear();
    return true;
}

}  // namespace vigil::checkers
