#pragma once

#include <chrono>
#include <optional>

#include "base/clock.hpp"

namespace vigil::ipvs {

// When the reconciler syncs, as a pure core (the shell owns the timer):
// - a change requests a sync, which runs at once unless the last one was less than
//   `min_interval` ago (rate limit: a burst of health changes costs one dump, not one each);
// - a sync with failed operations is retried `retry_interval` later, doubling with each
//   consecutive failed sync up to the resync interval (at least a minute), so a fault that
//   persists (a scheduler module missing) does not fill the log every few seconds;
// - otherwise one sync every `resync_interval` repairs drift made by someone else (0 = never).
class sync_pacer {
  public:
    using duration = std::chrono::milliseconds;
    sync_pacer(duration min_interval, duration resync_interval, duration retry_interval)
        : min_(min_interval), resync_(resync_interval), retry_(retry_interval) {}

    // New intervals (a reload) keep what happened so far: the last sync and the failure count.
    void set_intervals(duration min_interval, duration resync_interval, duration retry_interval) {
        min_ = min_interval;
        resync_ = resync_interval;
        retry_ = retry_interval;
    }
    void request() { pending_ = true; }
    void synced(time_point now, bool failed) {
        last_ = now;
        pending_ = false;
        failed_ = failed;
        consecutive_failures_ = failed ? consecutive_failures_ + 1 : 0;
    }
    // Something the sync also repairs failed between syncs (a sync daemon on a VRRP transition):
    // the next sync comes as a failed sync's retry would, without losing a pending request.
    void failed_between_syncs() {
        failed_ = true;
        ++consecutive_failures_;
    }
    // The wait before the next retry after the failures so far.
    duration retry_delay() const;

    // When the next sync should start; nothing when none is due ever (no resync, no request).
    std::optional<time_point> due() const;
    // Why a sync that starts now runs: "requested", "retry" or "resync".
    const char* reason() const;

  private:
    duration min_, resync_, retry_;
    std::optional<time_point> last_;
    bool pending_ = true;  // the first sync is always due
    bool failed_ = false;
    unsigned consecutive_failures_ = 0;
};

}  // namespace vigil::ipvs
