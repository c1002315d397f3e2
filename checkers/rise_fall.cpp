#include "checkers/rise_fall.hpp"

#include <algorithm>

namespace vigil::checkers {

rise_fall::rise_fall(unsigned rise, unsigned fall, health initial)
    : rise_(std::max(rise, 1u)), fall_(std::max(fall, 1u)), state_(initial) {}

std::optional<health> rise_fall::record(bool success) {
    bool agrees = (state_ == health::up) == success;
    if (agrees) {
        streak_ = 0;
        return std::nullopt;
    }
    ++streak_;
    if (streak_ < (state_ == health::up ? fall_ : rise_)) {
        return std::nullopt;
    }
    state_ = success ? health::up : health::down;
    streak_ = 0;
    return state_;
}

}  // namespace vigil::checkers
