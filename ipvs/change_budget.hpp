#pragma once

#include <chrono>
#include <cstddef>

#include "base/clock.hpp"

namespace vigil::ipvs {

// How many incremental applies may run at once before the rest wait, as a pure core: the first
// `burst` applies within a window of `window` go out as they come (one health change, one
// operation, no delay); once the burst is spent, changes wait for the window's end and go out
// together as one batch. A storm (5,000 real servers failing together) thus costs a few single
// operations and one batch per window, not 5,000 netlink round trips in a row on the event loop.
class change_budget {
  public:
    using duration = std::chrono::milliseconds;
    change_budget(std::size_t burst, duration window) : burst_(burst), window_(window) {}

    void set_limits(std::size_t burst, duration window) {
        burst_ = burst;
        window_ = window;
    }
    // Whether an apply may run at `now`; if so it is counted.
    bool try_take(time_point now);
    // When waiting changes may go out; only meaningful after try_take refused.
    time_point window_end() const { return started_ + window_; }
    // The batch of waiting changes went out at `now`: it opens a new window and counts in it.
    void batch_sent(time_point now);

  private:
    std::size_t burst_;
    duration window_;
    time_point started_{};
    std::size_t used_ = 0;
    bool open_ = false;
};

}  // namespace vigil::ipvs
