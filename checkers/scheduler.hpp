#pragma once

#include <cstdint>
#include <limits>
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
//     then calls finish() like for any other result. The timeout counts from the run's actual
//     start: time spent waiting for a free slot (start_limit) or behind a late wake-up is vigil's
//     own queueing and is never charged to the server.
class scheduler {
  public:
    explicit scheduler(random_source& random) : random_(random) {}

    // Adds a probe, idle, first run jittered across [now, now + interval).
    void add(probe_id id, probe_timing timing, time_point now);
    // Forgets a probe, running or not.
    void remove(probe_id id);

    struct work {
        std::vector<probe_id> start;  // now running, until finish()
        // For each start, in the same order: how long past its due time it starts (vigil's own
        // queueing: waiting for a slot, or a wake-up that came late).
        std::vector<duration> waited;
        std::vector<probe_id> timed_out;  // cancel them, then finish()
    };
    // Every timeout due at `now`, and the runs due at `now`, longest-waiting first, but at most
    // `start_limit` of them: the others stay queued, untouched, and keep their place in line.
    work poll(time_point now, std::size_t start_limit = std::numeric_limits<std::size_t>::max());

    // A run ended (result, error or timeout). Returns false when `id` is unknown or was not
    // running: a late answer after remove() or a double report, which the caller must drop.
    bool finish(probe_id id, time_point now, bool transition_pending);

    // When poll() next has work; empty when nothing is scheduled.
    std::optional<time_point> next_wakeup() const;
    // The earliest timeout of a running probe, if any: the wake-up still needed while no slot is
    // free for the runs that are due.
    std::optional<time_point> next_deadline() const;

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
        time_point due{};     // when the current run was due
        time_point queued{};  // meaningful while idle or running
    };

    void enqueue(probe_id id, entry& e, time_point at);
    void dequeue(probe_id id, entry& e);

    using queue = std::set<std::pair<time_point, probe_id>>;
    queue& queue_for(const entry& e) { return e.state == phase::idle ? starts_ : deadlines_; }

    random_source& random_;
    std::unordered_map<probe_id, entry> entries_;
    // Apart, so that a poll with no free slot never walks the runs waiting for one.
    queue starts_;     // idle probes by due time
    queue deadlines_;  // running probes by timeout
};

}  // namespace vigil::checkers
