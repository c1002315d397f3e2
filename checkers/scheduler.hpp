#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "base/duration.hpp"
#include "base/random_source.hpp"

namespace vigil::checkers {

using probe_id = std::uint64_t;

struct probe_timing {
    duration interval{5000};
    // Used instead of interval while a transition is pending; never longer than interval.
    duration recheck_interval{1000};
    duration timeout{3000};
};

// When each probe runs: the sans-I/O half of the engine. It owns no timer and reads no clock; the
// shell asks it what is due at `now` and arms one timer for next_wakeup(). One scheduler serves
// every probe, so 10,000 checks cost one ordered set, not 10,000 timers.
//
// Rules:
//   - a new probe first runs at a uniformly random point of its first interval, so 10,000 checks
//     added at once (startup, reload) never fire in one burst;
//   - afterwards it runs one interval after the previous start (keeping the cadence, and so the
//     spread), or one recheck interval while its result has a transition pending; if the probe
//     ran longer than that, at once when it ends;
//   - a probe never starts while its previous run is still going;
//   - a run that is still going at start + timeout is reported timed out; the shell cancels it and
//     then calls finish() like for any other result.
class scheduler {
  public:
    explicit scheduler(random_source& random) : random_(random) {}

    // Adds a probe, idle, first run jittered across [now, now + interval).
    void add(probe_id id, probe_timing timing, time_point now);
    // Forgets a probe, running or not.
    void remove(probe_id id);

    struct work {
        std::vector<probe_id> start;      // now running, until finish()
        std::vector<probe_id> timed_out;  // cancel them, then finish()
    };
    // Everything due at `now`, in order of due time.
    work poll(time_point now);

    // A run ended (result, error or timeout). Returns false when `id` is unknown or was not
    // running: a late answer after remove() or a double report, which the caller must drop.
    bool finish(probe_id id, time_point now, bool transition_pending);

    // A run poll() handed out that the shell could not start now (too many running): idle again
    // and due at its original time, so the longest-waiting probe gets the next free slot; not
    // counted as a run. The shell must not poll again before a slot frees or time passes.
    void postpone(probe_id id);

    // When poll() next has work; empty when nothing is scheduled.
    std::optional<time_point> next_wakeup() const;

    bool contains(probe_id id) const { return entries_.contains(id); }
    bool running(probe_id id) const;
    std::size_t size() const { return entries_.size(); }
    // The time the probe is queued for: its next start while idle, its deadline while running.
    std::optional<time_point> queued_at(probe_id id) const;

  private:
    enum class phase { idle, running, timed_out };
    struct entry {
        probe_timing timing;
        phase state = phase::idle;
        time_point started{};
        time_point due{};     // when the current run was due (for postpone)
        time_point queued{};  // meaningful while idle or running
    };

    void enqueue(probe_id id, entry& e, time_point at);
    void dequeue(probe_id id, entry& e);

    random_source& random_;
    std::unordered_map<probe_id, entry> entries_;
    std::set<std::pair<time_point, probe_id>> queue_;
};

}  // namespace vigil::checkers
