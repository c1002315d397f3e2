#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "alerts.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "base/random_source.hpp"
#include "checkers/health_monitor.hpp"
#include "config/model.hpp"
#include "control_server.hpp"
#include "ipvs/backend.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/reconciler.hpp"
#include "service_notifier.hpp"
#include "vrrp/address_effects.hpp"
#include "vrrp/instance_set.hpp"

namespace vigil {

// `vigil run`: one io_context on one thread. SIGTERM/SIGINT stop it cleanly; SIGHUP reloads, and a
// config that fails validation is refused while the running one stays in force.
class daemon {
  public:
    // `log` starts on stderr; the config's log settings replace it once the config is applied.
    daemon(std::string config_file, config::configuration initial, std::unique_ptr<event_log> log);
    ~daemon();
    daemon(const daemon&) = delete;
    daemon& operator=(const daemon&) = delete;

    // Returns the process exit status.
    int run();

  private:
    void wait_for_signal();
    // Returns the diagnostics that refused the new config (empty: applied).
    std::vector<std::string> reload();
    boost::json::object drain(const boost::json::object& request, bool drained);
    void load_drained();
    // systemd: READY once the first IPVS reconcile ran (at once without IPVS); watchdog pings
    // come from a timer on the loop, so a stuck loop misses them.
    void announce_ready_when_synced();
    void ping_watchdog();
    bool save_drained();
    // The log target (reopened: rotation) and the alert hooks. On failure nothing has changed.
    bool apply_log_settings(const config::configuration& config);
    // Counts, remembers and logs a refused reload; returns its diagnostics.
    std::vector<std::string> reject(std::vector<std::string> diagnostics);
    boost::json::object handle_request(const boost::json::object& request);
    boost::json::object status_json() const;
    bool apply_vrrp(const config::configuration& config);
    // Starts the reconciler (first call) or hands it the new config (reload).
    bool apply_ipvs(const config::configuration& config);
    // Rebuilds the desired IPVS table from config + health and hands it to the reconciler.
    void rebuild_ipvs();
    // Starts the health checks (first call) or gives them the new set (reload: unchanged real
    // servers keep their state and counters).
    void apply_checks(const config::configuration& config);
    void on_health_change(const checkers::health_change& change);
    void finish_notifications(std::chrono::steady_clock::time_point give_up_at);

    std::string config_file_;
    config::configuration config_;
    std::unique_ptr<event_log> log_;
    std::chrono::system_clock::time_point started_at_;
    std::chrono::steady_clock::time_point started_mono_;
    std::chrono::system_clock::time_point config_loaded_at_;
    std::uint64_t reloads_applied_ = 0;
    std::uint64_t reloads_rejected_ = 0;
    std::string last_rejection_;
    // Declared after the log so that pending handlers die before what they refer to.
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer shutdown_timer_{io_};
    static constexpr auto notify_grace = std::chrono::seconds(15);
    control_server control_;
    // VRRP runs only when instances are configured; the routers die before the effects they use.
    std::unique_ptr<vrrp::netlink_effects> address_effects_;
    std::unique_ptr<vrrp::instance_set> vrrp_;
    // IPVS: the backend outlives the reconciler that applies operations through it.
    std::unique_ptr<ipvs::backend> ipvs_backend_;
    std::unique_ptr<ipvs::reconciler> reconciler_;
    ipvs::desired_builder desired_builder_;
    std::vector<ipvs::virtual_server_spec> ipvs_specs_;
    ipvs::health_map health_;
    ipvs::desired_result last_build_;
    std::optional<std::string> sync_daemon_instance_;
    // Health checks: many changes in one loop turn (thousands at startup) make one rebuild.
    random_source random_ = random_source::from_entropy();
    steady_clock_source clock_{io_.get_executor()};
    std::unique_ptr<checkers::health_monitor> health_monitor_;
    bool rebuild_pending_ = false;
    // Real servers an operator took out of rotation (weight 0, connections finish); kept in
    // <state_dir>/drained so a drain survives reloads and restarts.
    std::set<std::string> drained_;
    service_notifier notifier_ = service_notifier::from_environment();
    // Alert hooks see every record the log writes; declared before the routers and checks that
    // log, after the log itself.
    std::unique_ptr<alert_dispatcher> alerts_;
    boost::asio::steady_timer ready_timer_{io_};
    boost::asio::steady_timer watchdog_timer_{io_};
    int exit_status_ = 0;
};

}  // namespace vigil
