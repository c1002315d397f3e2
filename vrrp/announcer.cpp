#include "vrrp/announcer.hpp"

namespace vigil::vrrp {

announcer::announcer(clock_source& clock, announce_spec spec, std::function<void()> send_round)
    : clock_(clock), spec_(spec), send_round_(std::move(send_round)), timer_(clock.make_timer()) {}

unsigned announcer::burst_size(stage s) const {
    return s == stage::refresh ? spec_.master_refresh_repeat : spec_.master_repeat;
}

void announcer::start() {
    stop();
    running_ = true;
    stage_ = stage::first_burst;
    sent_in_burst_ = 0;
    if (burst_size(stage_) == 0 && !begin(stage::second_burst, spec_.master_delay) &&
        !begin(stage::refresh, spec_.master_refresh)) {
        running_ = false;
        return;
    }
    if (stage_ == stage::first_burst) {
        step();
    }
}

void announcer::stop() {
    running_ = false;
    timer_->cancel();
}

bool announcer::begin(stage s, duration pause) {
    // A refresh of 0 packets would wake up forever for nothing.
    if (pause.count() <= 0 || burst_size(s) == 0) {
        return false;
    }
    stage_ = s;
    sent_in_burst_ = 0;
    timer_->arm(clock_.now() + pause, [this] { step(); });
    return true;
}

void announcer::step() {
    for (;;) {
        send_round_();
        if (!running_) {
            return;  // the round's sender stopped us
        }
        if (++sent_in_burst_ < burst_size(stage_)) {
            if (spec_.interval.count() > 0) {
                timer_->arm(clock_.now() + spec_.interval, [this] { step(); });
                return;
            }
            continue;
        }
        break;
    }
    if (stage_ == stage::first_burst && begin(stage::second_burst, spec_.master_delay)) {
        return;
    }
    if (!begin(stage::refresh, spec_.master_refresh)) {
        running_ = false;
    }
}

}  // namespace vigil::vrrp
