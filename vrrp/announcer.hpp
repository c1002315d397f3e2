#pragma once

#include <functional>
#include <memory>

#include "base/clock.hpp"
#include "base/duration.hpp"

namespace vigil::vrrp {

// When a new master announces its VIPs, as keepalived's vrrp_garp_* settings: a burst at once, a
// second burst after master_delay (none when it is 0), and while master optionally a refresh
// every master_refresh.
struct announce_spec {
    duration master_delay = std::chrono::seconds(5);
    unsigned master_repeat = 5;
    duration master_refresh{0};
    unsigned master_refresh_repeat = 1;
    duration interval{0};  // between the packets of one burst

    bool operator==(const announce_spec&) const = default;
};

// Runs the schedule on the clock seam; every step calls `send_round` (one packet per VIP). The
// first round goes out from start() itself. stop() ends the schedule at once.
class announcer {
  public:
    announcer(clock_source& clock, announce_spec spec, std::function<void()> send_round);
    announcer(const announcer&) = delete;
    announcer& operator=(const announcer&) = delete;

    void start();
    void stop();
    bool running() const { return running_; }

  private:
    enum class stage { first_burst, second_burst, refresh };
    unsigned burst_size(stage s) const;
    // Sends the rounds due now and arms the timer for the next one.
    void step();
    // The burst `s` begins after `pause`; false when the schedule has no such burst.
    bool begin(stage s, duration pause);

    clock_source& clock_;
    announce_spec spec_;
    std::function<void()> send_round_;
    std::unique_ptr<clock_timer> timer_;
    stage stage_ = stage::first_burst;
    unsigned sent_in_burst_ = 0;
    bool running_ = false;
};

}  // namespace vigil::vrrp
