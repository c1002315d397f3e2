#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "alerts.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "base/random_source.hpp"
#include "config/loader.hpp"
#include "config/model.hpp"
#include "control_commands.hpp"
#include "control_server.hpp"
#include "metrics/metrics_server.hpp"
#include "plan.hpp"
#include "service_notifier.hpp"
#include "supervisor.hpp"

namespace vigil {

// `vigil run`: one io_context on one thread. SIGTERM/SIGINT stop it cleanly; SIGHUP reloads, and a
// config that fails validation is refused while the running one stays in force. The engines and
// their wiring live in the supervisor; this is the process around them.
class daemon final : private control_target {
  public:
    // `log` starts on stderr; the config's log settings replace it once the config is applied.
    daemon(std::string config_file, config::configuration initial, std::unique_ptr<event_log> log);
    ~daemon() override;
    daemon(const daemon&) = delete;
    daemon& operator=(const daemon&) = delete;

    // Returns the process exit status.
    int run();

  private:
    // control_target: the control socket's commands.
    boost::json::object status() const override;
    void reload(bool allow_empty, reload_done done) override;
    drain_outcome drain(const std::string& real_server, bool drained) override;
    node_drain_outcome drain_node(bool draining) override;
    void plan(const std::string& file, plan_done done) override;
    running_state running() const;

    // Reloads run one at a time: the file is read and validated on the reload worker, off the
    // loop, and only the commit runs on it.
    void start_next_reload();
    std::vector<std::string> commit_reload(config::load_result loaded, bool allow_empty);
    void wait_for_signal();
    void stop(int signal_number);
    // The rest of a stop, once the BGP announcements were withdrawn and drain_wait has passed.
    void finish_stop();
    // systemd: READY once the first IPVS reconcile ran (at once without IPVS); watchdog pings
    // come from a timer on the loop, so a stuck loop misses them.
    void announce_ready_when_synced();
    void ping_watchdog();
    // The log target (reopened: rotation) and the alert hooks. On failure nothing has changed.
    bool apply_log_settings(const config::configuration& config);
    // Counts, remembers and logs a refused reload; returns its diagnostics.
    std::vector<std::string> reject(std::vector<std::string> diagnostics);
    void finish_notifications(std::chrono::steady_clock::time_point give_up_at);
    // The body of one /metrics scrape.
    std::string metrics_body() const;

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
    random_source random_ = random_source::from_entropy();
    steady_clock_source clock_{io_.get_executor()};
    service_notifier notifier_ = service_notifier::from_environment();
    // Alert hooks see every record the log writes; declared before the engines that log, after
    // the log itself.
    std::unique_ptr<alert_dispatcher> alerts_;
    supervisor engines_;
    // Declared after the engines a scrape reads, so it closes before they go.
    metrics::metrics_server metrics_{io_.get_executor(), *log_, [this] { return metrics_body(); }};
    boost::asio::steady_timer ready_timer_{io_};
    boost::asio::steady_timer watchdog_timer_{io_};
    struct pending_reload {
        bool allow_empty = false;
        reload_done done;
    };
    std::deque<pending_reload> pending_reloads_;
    bool reloading_ = false;
    bool stopping_ = false;
    // Declared after the loop and everything a reload's completion touches: destroying it joins
    // the worker, whose completion then never runs (the loop has stopped).
    boost::asio::thread_pool reload_worker_{1};
    int exit_status_ = 0;
};

}  // namespace vigil
