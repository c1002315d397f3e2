#include "ipvs/change_budget.hpp"

namespace vigil::ipvs {

bool change_budget::try_take(time_point now) {
    if (!open_ || now >= started_ + window_) {
        open_ = true;
        started_ = now;
        used_ = 0;
    }
    if (used_ >= burst_) {
        return false;
    }
    ++used_;
    return true;
}

void change_budget::batch_sent(time_point now) {
    open_ = true;
    started_ = now;
    used_ = 1;
}

}  // namespace vigil::ipvs
