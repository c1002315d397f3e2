#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "ipvs/backend.hpp"
#include "ipvs/backend_worker.hpp"
#include "ipvs/change_budget.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/desired_state.hpp"
#include "ipvs/kernel_view.hpp"
#include "ipvs/status.hpp"
#include "ipvs/sync_daemons.hpp"
#include "ipvs/sync_pacer.hpp"

namespace vigil::ipvs {

struct reconciler_spec {
    // Rate limit of full syncs (dump + diff), and the window of the incremental burst below.
    std::chrono::milliseconds min_sync_interval{200};
    // Incremental applies (a health change: one operation, at once) allowed per
    // min_sync_interval; past that, changes wait for the window's end and go out as one batch.
    std::size_t incremental_burst = 32;
    // Periodic full sync that repairs changes made behind vigil's back; 0 = never.
    std::chrono::milliseconds resync_interval{30'000};
    // A sync with failed operations is retried after this, doubling while failures persist.
    std::chrono::milliseconds retry_interval{5'000};
    // Where the list of owned services is kept; empty = not persisted (tests).
    std::filesystem::path state_file;
    // On shutdown: false leaves the table in place (traffic keeps flowing while vigil restarts);
    // true deletes every service vigil owns.
    bool remove_on_shutdown = false;
    // The connection-sync daemon settings (role ignored); nothing = vigil leaves daemons alone.
    std::optional<sync_daemon> sync_daemon_settings;
};

struct sync_report {
    std::string reason;  // startup, requested, retry, resync, manual; health for incremental
    bool dump_ok = false;
    std::size_t operations = 0;
    std::size_t failed = 0;
    std::size_t services = 0;  // services vigil owns after the sync
    std::chrono::microseconds dump_time{0};
    std::chrono::microseconds apply_time{0};
};

// Totals since the reconciler started, for metrics.
struct reconciler_counters {
    // Syncs that reached the kernel, by sync_report::reason (incremental ones as "health" or
    // "health_batch" only when they had operations to apply).
    std::map<std::string, std::uint64_t, std::less<>> syncs;
    std::uint64_t operations = 0;  // sent to the kernel
    std::uint64_t failed = 0;      // of those, refused
    std::uint64_t dumps_failed = 0;
};

// How src/ wires it (one of each per daemon):
//   auto opened = netlink_backend::open();        // or a memory_backend for tests; on failure
//                                                 // log opened.error and exit: no fallback
//   backend_worker worker(*opened.backend, loop); // the kernel calls' own thread
//   reconciler r(clock, worker, log, settings);
//   r.set_specs(specs);                           // on start and reload; before start() nothing
//                                                 // syncs without it
//   r.start();
//   r.set_health(name, health);                   // on each health result (drain: weight 0)
//   r.set_sync_mode(...)                          // on each VRRP transition of the sync instance
//   r.status_json()                               // status, from what it already holds
//   r.shutdown();                                 // on SIGTERM; keep the loop running while
//                                                 // shutting_down() (bounded by the backend's)
//
// The I/O shell around desired_state and diff(). It owns the desired table (config + health) and
// a view of the kernel's table (kernel_view: last dump plus acknowledged operations). Every
// kernel call goes through the backend_worker: the reconciler sends a request and carries on, and
// the view changes when the answer comes back to the loop. One table request (an incremental
// apply or a full sync) is in flight at a time, so every diff is made against a view that holds
// the effect of everything sent before it; changes arriving meanwhile wait and go out together
// when the answer is in.
// - A health change is diffed for its one real server (or, on a quorum transition, its one
//   virtual server) against the view and sent at once: no dump, no rebuild. Past
//   `incremental_burst` such applies per window, changes wait and go out as one batch at the
//   window's end (a storm of failures costs one batch, not thousands of round trips).
// - A full sync dumps the kernel once, diffs the whole owned table on the loop and sends the
//   delta: at startup, after a config change, periodically (repairing drift), and soon after any
//   operation the kernel refused (its answer means the view was wrong). Full syncs are
//   rate-limited, failed operations are logged (`ipvs.apply_failed`) and retried with backoff.
// - Quorum transitions are logged here (`virtual_server.quorum_lost` / `quorum_regained`).
// It also keeps the connection-sync daemon in step with the VRRP role: a transition is sent at
// once, past the rate limit. Timers come from the clock seam; every method runs on the loop's
// thread and returns without waiting for the kernel. Nothing here throws into the event loop.
class reconciler {
  public:
    using report_handler = std::function<void(const sync_report&)>;

    reconciler(clock_source& clock, backend_worker& kernel, event_log& log,
               reconciler_spec settings);
    ~reconciler();
    reconciler(const reconciler&) = delete;
    reconciler& operator=(const reconciler&) = delete;

    // Reads the state file and logs `ipvs.started`. Syncing begins once specs have been given:
    // an empty table before the config arrives must not delete anything.
    void start();
    // The configured virtual servers (start and reload); only what changed is recomputed, and a
    // change requests a (rate-limited) full sync.
    void set_specs(std::vector<virtual_server_spec> specs);
    // One real server's health; sent at once (see above).
    void set_health(std::string_view real_server, real_server_health health);
    // The VRRP role of the instance that carries the sync daemon (see sync_mode).
    void set_sync_mode(sync_mode mode);
    void set_spec(const reconciler_spec& settings);  // on reload
    // A full sync at the next rate-limited opportunity.
    void request_sync();

    // Starts one full sync now (the timer calls it; tests and benchmarks too), or as soon as the
    // request in flight is answered. `done`, if given, gets the report of the sync, on the loop.
    void sync_now(const char* reason = "manual", report_handler done = {});
    // Stops the timers and sends the shutdown policy (remove_on_shutdown) and the stop of the
    // sync daemons vigil runs, behind whatever is already in flight.
    void shutdown();
    // The shutdown policy has been sent and not yet answered: the loop must keep running.
    bool shutting_down() const { return shutting_down_; }
    // Requests sent to the kernel and not yet answered.
    std::size_t in_flight() const { return worker_.in_flight(); }

    // `vigil status`'s ipvs section, built from the view (never a dump, never waiting for the
    // worker): `backend`, `services`, `missing` (see status.hpp) and `kernel_view_age_ms`, how old
    // the last dump is (null before the first).
    boost::json::value status_json() const;
    // The same, copied for rendering elsewhere (ipvs::status_json(snapshot) renders it).
    status_snapshot status() const;

    const std::set<service_key>& owned() const { return owned_; }
    const table& desired() const { return state_.desired(); }
    // The desired table with what builds it (specs, health, quorum): `vigil plan` copies it.
    const desired_state& state() const { return state_; }
    const kernel_view& view() const { return view_; }
    const std::optional<sync_report>& last_report() const { return last_report_; }
    const reconciler_counters& counters() const { return counters_; }
    const std::vector<virtual_server_spec>& specs() const { return state_.specs(); }
    // Quorum and sorry-server state per virtual server, by name.
    std::map<std::string, virtual_server_state, std::less<>> virtual_servers() const {
        return state_.virtual_servers();
    }

  private:
    // A backend call's answer and how long the kernel took over it (on the worker's clock).
    struct timed_dump {
        boost::system::result<ipvs::table> answer;
        std::chrono::microseconds took{0};
    };
    struct timed_apply {
        std::vector<std::error_code> answers;
        std::chrono::microseconds took{0};
    };
    using shared_operations = std::shared_ptr<const std::vector<operation>>;

    // Submits to the worker; `done` is dropped if the reconciler is gone when the answer comes.
    template <class Work, class Done>
    void send(Work work, Done done) {
        worker_.submit(std::move(work), [alive = std::weak_ptr<int>(alive_),
                                         done = std::move(done)](auto answer) mutable {
            if (alive.lock()) {
                done(std::move(answer));
            }
        });
    }

    void arm();
    void on_timer();
    // Sends the pending incremental changes now, or arranges for them to go (the batch window,
    // or the answer to the request in flight).
    void send_pending();
    // Applies the pending incremental changes as one batch against the view.
    void flush_changes(const char* reason);
    void on_applied(const char* reason, const shared_operations& ops,
                    backend_worker::outcome<timed_apply> applied, bool needs_full_sync);
    void on_dumped(sync_report report, backend_worker::outcome<timed_dump> dumped);
    void on_synced(sync_report report, std::set<service_key> owned, const shared_operations& ops,
                   backend_worker::outcome<timed_apply> applied);
    // Every answer of a sync is in (or it failed early): the report goes to whoever waits.
    void finish_sync(sync_report report);
    // The table request in flight was answered: what waited for it goes out.
    void request_done();
    void note(desired_change change);
    void save_state();
    void reconcile_daemons(sync_mode mode);
    void log_failure(const operation& op, const std::error_code& answer);

    clock_source& clock_;
    std::unique_ptr<clock_timer> sync_timer_;
    std::unique_ptr<clock_timer> batch_timer_;
    backend_worker& worker_;
    event_log& log_;
    reconciler_spec settings_;
    sync_pacer pacer_;
    change_budget budget_;
    desired_state state_;
    kernel_view view_;
    // Changed since the last apply, not yet sent.
    std::set<service_key> pending_services_;
    std::set<std::pair<service_key, ip_endpoint>> pending_destinations_;
    bool started_ = false;
    bool stopped_ = false;
    bool shutting_down_ = false;
    // An incremental apply or a full sync has been sent and not answered.
    bool table_request_in_flight_ = false;
    // sync_now() while a request was in flight: the sync starts when it is answered.
    std::optional<const char*> sync_waiting_;
    std::vector<report_handler> report_waiters_;   // for the next sync to start
    std::vector<report_handler> current_waiters_;  // for the sync in flight
    std::set<service_key> owned_;
    std::optional<std::set<service_key>> saved_;  // what the state file holds
    sync_mode mode_ = sync_mode::none;
    std::optional<sync_report> last_report_;
    reconciler_counters counters_;
    // Expires with the reconciler: answers still on their way find it gone.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// Logs quorum transitions as `virtual_server.quorum_lost` (warning) and
// `virtual_server.quorum_regained` (info).
void log_quorum_events(event_log& log, std::span<const quorum_event> events);

}  // namespace vigil::ipvs
