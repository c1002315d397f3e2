#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/event_log.hpp"
#include "ipvs/backend.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/sync_daemons.hpp"
#include "ipvs/sync_pacer.hpp"

namespace vigil::ipvs {

struct reconciler_settings {
    // Rate limit: at most one sync per this interval, however many changes arrive.
    std::chrono::milliseconds min_sync_interval{200};
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
    std::string reason;  // startup, requested, retry, resync, manual
    bool dump_ok = false;
    std::size_t operations = 0;
    std::size_t failed = 0;
    std::size_t services = 0;  // services vigil owns after the sync
    std::chrono::microseconds dump_time{0};
    std::chrono::microseconds apply_time{0};
};

// How src/ wires it (one of each per daemon):
//   auto opened = netlink_backend::open();        // or a memory_backend for tests; on failure
//                                                 // log opened.error and exit: no fallback
//   reconciler r(io.get_executor(), *opened.backend, log, settings);
//   desired_builder builder;                      // keeps quorum state between builds
//   auto built = builder.build(specs, health);    // on start, reload and every health change
//   log_quorum_events(log, built.events);
//   r.set_desired(built.desired);                 // before start(): nothing syncs without it
//   r.start();
//   r.set_sync_mode(...)                          // on each VRRP transition of the sync instance
//   status_json({*kernel.dump(), r.desired(), r.owned(), specs, health, &built})  // status
//   r.shutdown();                                 // on SIGTERM, before the loop ends
//
// The I/O shell around diff(): on its executor it dumps the kernel table once, diffs it in memory
// against the desired table and applies only the delta, then records what it owns. Syncs are
// rate-limited, failed operations are logged (`ipvs.apply_failed`) and retried, and a periodic
// resync repairs drift. It also keeps the connection-sync daemon in step with the VRRP role.
// Nothing here throws into the event loop.
class reconciler {
  public:
    reconciler(boost::asio::any_io_executor executor, backend& kernel, event_log& log,
               reconciler_settings settings);
    ~reconciler();
    reconciler(const reconciler&) = delete;
    reconciler& operator=(const reconciler&) = delete;

    // Reads the state file and logs `ipvs.started`. Syncing begins once a desired table has been
    // given: an empty table before the first health results must not delete anything.
    void start();
    // The table vigil wants; applied at the next (rate-limited) sync.
    void set_desired(table desired);
    // The VRRP role of the instance that carries the sync daemon (see sync_mode).
    void set_sync_mode(sync_mode mode);
    void set_settings(const reconciler_settings& settings);  // on reload
    void request_sync();

    // One sync, now, on the caller's thread (the timer calls it; tests and benchmarks too).
    sync_report sync_now(const char* reason = "manual");
    // Stops the timers and applies the shutdown policy (remove_on_shutdown); stops the sync
    // daemons vigil runs.
    void shutdown();

    const std::set<service_key>& owned() const { return owned_; }
    const table& desired() const { return desired_; }
    const std::optional<sync_report>& last_report() const { return last_report_; }

  private:
    void arm();
    void on_timer();
    bool save_state();
    bool reconcile_daemons(sync_mode mode);

    boost::asio::steady_timer timer_;
    backend& backend_;
    event_log& log_;
    reconciler_settings settings_;
    sync_pacer pacer_;
    table desired_;
    bool have_desired_ = false;
    bool started_ = false;
    bool stopped_ = false;
    std::set<service_key> owned_;
    std::optional<std::set<service_key>> saved_;  // what the state file holds
    sync_mode mode_ = sync_mode::none;
    std::optional<sync_report> last_report_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// Logs the quorum transitions a desired build found as `virtual_server.quorum_lost` (warning) and
// `virtual_server.quorum_regained` (info).
void log_quorum_events(event_log& log, std::span<const quorum_event> events);

}  // namespace vigil::ipvs
