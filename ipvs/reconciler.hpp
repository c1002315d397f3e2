#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
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
#include "ipvs/change_budget.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/desired_state.hpp"
#include "ipvs/kernel_view.hpp"
#include "ipvs/sync_daemons.hpp"
#include "ipvs/sync_pacer.hpp"

namespace vigil::ipvs {

struct reconciler_settings {
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
//   reconciler r(clock, *opened.backend, log, settings);
//   r.set_specs(specs);                           // on start and reload; before start() nothing
//                                                 // syncs without it
//   r.start();
//   r.set_health(name, health);                   // on each health result (drain: weight 0)
//   r.set_sync_mode(...)                          // on each VRRP transition of the sync instance
//   r.status_json()                               // status, from what it already holds
//   r.shutdown();                                 // on SIGTERM, before the loop ends
//
// The I/O shell around desired_state and diff(). It owns the desired table (config + health) and
// a view of the kernel's table (kernel_view: last dump plus acknowledged operations).
// - A health change is diffed for its one real server (or, on a quorum transition, its one
//   virtual server) against the view and applied at once, in the caller's turn: no dump, no
//   rebuild. Past `incremental_burst` such applies per window, changes wait and go out as one
//   batch at the window's end (a storm of failures costs one batch, not thousands of round trips).
// - A full sync dumps the kernel once, diffs the whole owned table and applies the delta: at
//   startup, after a config change, periodically (repairing drift), and soon after any operation
//   the kernel refused (its answer means the view was wrong). Full syncs are rate-limited, failed
//   operations are logged (`ipvs.apply_failed`) and retried with backoff.
// - Quorum transitions are logged here (`virtual_server.quorum_lost` / `quorum_regained`).
// It also keeps the connection-sync daemon in step with the VRRP role. Timers come from the clock
// seam; every method runs on the loop's thread. Nothing here throws into the event loop.
class reconciler {
  public:
    reconciler(clock_source& clock, backend& kernel, event_log& log, reconciler_settings settings);
    ~reconciler();
    reconciler(const reconciler&) = delete;
    reconciler& operator=(const reconciler&) = delete;

    // Reads the state file and logs `ipvs.started`. Syncing begins once specs have been given:
    // an empty table before the config arrives must not delete anything.
    void start();
    // The configured virtual servers (start and reload); only what changed is recomputed, and a
    // change requests a (rate-limited) full sync.
    void set_specs(std::vector<virtual_server_spec> specs);
    // One real server's health; applied at once (see above).
    void set_health(std::string_view real_server, real_server_health health);
    // The VRRP role of the instance that carries the sync daemon (see sync_mode).
    void set_sync_mode(sync_mode mode);
    void set_settings(const reconciler_settings& settings);  // on reload
    // A full sync at the next rate-limited opportunity.
    void request_sync();

    // One full sync, now, on the caller's thread (the timer calls it; tests and benchmarks too).
    sync_report sync_now(const char* reason = "manual");
    // Stops the timers and applies the shutdown policy (remove_on_shutdown); stops the sync
    // daemons vigil runs.
    void shutdown();

    // `vigil status`'s ipvs section, built from the view (never a dump): `backend`, `services`,
    // `missing` (see status.hpp) and `kernel_view_age_ms`, how old the last dump is (null before
    // the first).
    boost::json::value status_json() const;

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
    void arm();
    void on_timer();
    // Applies the pending incremental changes as one batch against the view.
    void flush_changes(const char* reason);
    void note(desired_change change);
    bool save_state();
    bool reconcile_daemons(sync_mode mode);
    void log_failure(const operation& op, const std::error_code& answer);

    clock_source& clock_;
    std::unique_ptr<clock_timer> sync_timer_;
    std::unique_ptr<clock_timer> batch_timer_;
    backend& backend_;
    event_log& log_;
    reconciler_settings settings_;
    sync_pacer pacer_;
    change_budget budget_;
    desired_state state_;
    kernel_view view_;
    // Changed since the last apply, not yet sent.
    std::set<service_key> pending_services_;
    std::set<std::pair<service_key, ip_endpoint>> pending_destinations_;
    bool started_ = false;
    bool stopped_ = false;
    std::set<service_key> owned_;
    std::optional<std::set<service_key>> saved_;  // what the state file holds
    sync_mode mode_ = sync_mode::none;
    std::optional<sync_report> last_report_;
    reconciler_counters counters_;
};

// Logs quorum transitions as `virtual_server.quorum_lost` (warning) and
// `virtual_server.quorum_regained` (info).
void log_quorum_events(event_log& log, std::span<const quorum_event> events);

}  // namespace vigil::ipvs
