#include "daemon.hpp"

#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <csignal>
#include <filesystem>

#include "checker_specs.hpp"
#include "logging.hpp"
#include "status.hpp"
#include "version.hpp"
#include "vrrp_specs.hpp"

namespace vigil {

namespace {

field_value::list diagnostic_lines(const std::vector<config::diagnostic>& diagnostics) {
    field_value::list lines;
    for (const auto& d : diagnostics) {
        lines.push_back(config::to_string(d));
    }
    return lines;
}

}  // namespace

daemon::daemon(std::string config_file, config::configuration initial,
               std::unique_ptr<event_log> log)
    : config_file_(std::move(config_file)),
      config_(std::move(initial)),
      log_(std::move(log)),
      started_at_(std::chrono::system_clock::now()),
      started_mono_(std::chrono::steady_clock::now()),
      config_loaded_at_(started_at_),
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      control_(io_.get_executor(), *log_,
               [this](const boost::json::object& request, control_server::reply_handler reply) {
                   answer_control_request(request, *this, std::move(reply));
               }),
      engines_(io_.get_executor(), *log_, clock_, random_) {
    // The loop and the workers run at normal priority even when the daemon is started at a
    // real-time one (chrt, systemd's CPUSchedulingPolicy): only the VRRP thread keeps it. A
    // real-time loop running thousands of checks a second, or a worker rendering a 10,000-server
    // status, holds a CPU for tens of ms ahead of the kernel's own network work on a small
    // machine (measured: bench/vrrp_jitter.py). Workers are not niced either: one waiting for a
    // CPU while holding an allocator lock holds up the loop behind it.
    // (The VRRP thread was started by the engines, above, so it has inherited the priority.)
    auto to_normal_priority = [] {
        sched_param normal{};
        ::sched_setscheduler(0, SCHED_OTHER, &normal);  // this thread only (Linux)
    };
    to_normal_priority();
    for (auto* worker : {&reload_worker_, &render_worker_}) {
        boost::asio::post(*worker, to_normal_priority);
    }
}

daemon::~daemon() {
    render_worker_.stop();
    render_worker_.join();
    // The engines log until they are gone (their destructor runs after this body), so the log
    // stops feeding the alert hooks here and the hooks outlive nothing that writes to them.
    if (auto plain = make_log_sink(config_.global.log)) {
        log_->replace_sink(std::move(plain.value()));
    } else {
        log_->replace_sink(nullptr);
    }
    alerts_.reset();
}

bool daemon::apply_log_settings(const config::configuration& config) {
    const auto& settings = config.global.log;
    auto sink = make_log_sink(settings);
    if (!sink) {
        log_->error("log.target_failed", {{"target", settings.target}, {"error", sink.error()}});
        return false;
    }
    if (!alerts_) {
        alerts_ = std::make_unique<alert_dispatcher>(io_.get_executor(), *log_);
    }
    std::vector<alert_hook> hooks;
    for (const auto& a : config.alerts) {
        hooks.push_back({a.events, a.command, a.url, a.timeout, a.retries, a.user});
    }
    alerts_->set_hooks(std::move(hooks));
    log_->replace_sink(make_alerting_sink(std::move(sink.value()), *alerts_));
    log_->set_threshold(settings.level);
    return true;
}

int daemon::run() {
    // A status or a scrape is megabytes, rendered on a worker and freed on the loop. glibc maps
    // and unmaps blocks that large each time, and every mmap or munmap takes the process's
    // memory-map lock, which the loop's own page faults then wait for, behind a worker thread
    // that may itself be waiting for a CPU. Kept in the heap instead, the memory is reused.
    ::mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    ::mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
    if (!apply_log_settings(config_)) {
        return 1;
    }
    if (auto error = control_.open(config_.global.control_socket)) {
        log_->error("control.failed",
                    {{"socket", config_.global.control_socket}, {"error", *error}});
        return 1;
    }
    if (auto error = metrics_.listen(config_.global.metrics.listen)) {
        log_->error("metrics.failed", {{"error", *error}});
        control_.close();
        return 1;
    }
    log_->info("config.loaded", {{"file", config_file_},
                                 {"node", config_.global.node},
                                 {"vrrp_instances", config_.vrrp_instances.size()},
                                 {"virtual_servers", config_.virtual_servers.size()},
                                 {"real_servers", config_.real_server_count()}});
    if (!engines_.start(config_)) {
        control_.close();
        return 1;
    }
    log_->info("daemon.started", {{"version", std::string(version)},
                                  {"pid", static_cast<std::int64_t>(::getpid())},
                                  {"control_socket", control_.path()}});
    wait_for_signal();
    announce_ready_when_synced();
    ping_watchdog();
    io_.run();
    control_.close();
    return exit_status_;
}

void daemon::announce_ready_when_synced() {
    if (!engines_.synced()) {
        ready_timer_.expires_after(std::chrono::milliseconds(20));
        ready_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                announce_ready_when_synced();
            }
        });
        return;
    }
    notifier_.notify("READY=1\nSTATUS=" + std::to_string(config_.vrrp_instances.size()) +
                     " VRRP instances, " + std::to_string(config_.virtual_servers.size()) +
                     " virtual servers");
}

void daemon::ping_watchdog() {
    auto period = notifier_.watchdog_period();
    if (!period) {
        return;
    }
    notifier_.notify("WATCHDOG=1");
    watchdog_timer_.expires_after(*period);
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
            ping_watchdog();
        }
    });
}

void daemon::wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
        if (ec) {
            return;
        }
        if (signal_number == SIGHUP) {
            reload(false, [](const std::vector<std::string>&) {});
            wait_for_signal();
            return;
        }
        stop(signal_number);
    });
}

void daemon::stop(int signal_number) {
    stopping_ = true;
    log_->info("daemon.stopping", {{"signal", std::string(::sigabbrev_np(signal_number))}});
    notifier_.notify("STOPPING=1");
    control_.close();
    metrics_.close();
    // BGP first: every prefix is withdrawn at once, and the routers get drain_wait to converge
    // while this node still serves what they send meanwhile (VRRP, IPVS and checks run on).
    auto wait = engines_.withdraw_announcements();
    if (wait.count() > 0) {
        shutdown_timer_.expires_after(wait);
        shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                finish_stop();
            }
        });
        return;
    }
    finish_stop();
}

void daemon::finish_stop() {
    engines_.shutdown();
    if (engines_.notifying()) {
        finish_notifications(std::chrono::steady_clock::now() + notify_grace);
        return;
    }
    io_.stop();
}

void daemon::finish_notifications(std::chrono::steady_clock::time_point give_up_at) {
    // notify_stop (and any notify still queued) runs to completion before the process exits,
    // bounded so a hung program cannot hold up a stop.
    if (!engines_.notifying() || std::chrono::steady_clock::now() >= give_up_at) {
        io_.stop();
        return;
    }
    shutdown_timer_.expires_after(std::chrono::milliseconds(20));
    shutdown_timer_.async_wait([this, give_up_at](const boost::system::error_code& ec) {
        if (!ec) {
            finish_notifications(give_up_at);
        }
    });
}

void daemon::reload(bool allow_empty, reload_done done) {
    pending_reloads_.push_back({allow_empty, std::move(done)});
    if (!reloading_) {
        start_next_reload();
    }
}

void daemon::start_next_reload() {
    if (pending_reloads_.empty()) {
        reloading_ = false;
        return;
    }
    reloading_ = true;
    notifier_.notify("RELOADING=1");
    // Parsing and validating 10,000 real servers takes long enough to delay adverts and checks:
    // it happens on the worker, which touches nothing but the file system.
    boost::asio::post(reload_worker_, [this] {
        auto loaded = config::load_configuration(config_file_);
        std::optional<supervisor::engine_specs> specs;
        if (loaded.config) {
            specs = supervisor::specs_of(*loaded.config);
        }
        boost::asio::post(io_, [this, loaded = std::move(loaded),
                                specs = std::move(specs)]() mutable {
            auto request = std::move(pending_reloads_.front());
            pending_reloads_.pop_front();
            auto finish = [this, done = std::move(request.done)](std::vector<std::string> errors) {
                // Whatever the outcome, the daemon is serving again.
                notifier_.notify("READY=1");
                done(std::move(errors));
                start_next_reload();
            };
            auto errors = commit_reload(std::move(loaded), std::move(specs), request.allow_empty,
                                        [finish] { finish({}); });
            if (!errors.empty()) {
                finish(std::move(errors));
            }
        });
    });
}

std::vector<std::string> daemon::commit_reload(config::load_result loaded,
                                               std::optional<supervisor::engine_specs> specs,
                                               bool allow_empty, std::function<void()> committed) {
    if (stopping_) {
        return {config_file_ + ": error: the daemon is stopping"};
    }
    if (!loaded.config) {
        return reject(diagnostic_lines(loaded.diagnostics));
    }
    auto next = std::move(*loaded.config);
    // A half-written or truncated file can still be valid TOML: a reload that would stop every
    // instance or every virtual server is taken as a mistake unless the operator says so.
    if (!allow_empty) {
        std::vector<std::string> emptied;
        if (!config_.vrrp_instances.empty() && next.vrrp_instances.empty()) {
            emptied.push_back(config_file_ +
                              ": error: the new configuration removes every VRRP instance "
                              "(vigil reload --allow-empty to apply it anyway)");
        }
        if (!config_.virtual_servers.empty() && next.virtual_servers.empty()) {
            emptied.push_back(config_file_ +
                              ": error: the new configuration removes every virtual server "
                              "(vigil reload --allow-empty to apply it anyway)");
        }
        if (!emptied.empty()) {
            return reject(std::move(emptied));
        }
    }
    // Everything the engines can fail at (VRRP sockets, an interface that does not exist) is
    // done before anything changes: refused here, nothing running was touched. Dropped on a
    // refusal below, it releases what it opened.
    auto prepared = engines_.prepare(next, std::move(*specs));
    if (!prepared) {
        std::vector<std::string> errors;
        for (const auto& why : prepared.error()) {
            errors.push_back(config_file_ + ": error: " + why);
        }
        return reject(std::move(errors));
    }
    // The log target is reopened on every reload so that rotated files are let go; the alert
    // hooks come from the config that is about to apply.
    if (!apply_log_settings(next)) {
        return reject({"log target " + next.global.log.target + " cannot be opened"});
    }
    if (next.global.control_socket != control_.path()) {
        if (auto error = control_.open(next.global.control_socket)) {
            apply_log_settings(config_);  // the running config's hooks again
            control_.open(config_.global.control_socket);
            return reject({*error});
        }
    }
    if (auto error = metrics_.listen(next.global.metrics.listen)) {
        apply_log_settings(config_);
        if (next.global.control_socket != config_.global.control_socket) {
            control_.open(config_.global.control_socket);
        }
        return reject({*error});
    }
    // The old config (10,000 real servers) is freed on the worker, not on the loop.
    boost::asio::post(
        reload_worker_,
        [this, old = std::exchange(config_, std::move(next))]() mutable { old = {}; });
    config_loaded_at_ = std::chrono::system_clock::now();
    ++reloads_applied_;
    // Nothing can fail from here: the engines take the new config over a few loop turns, and
    // the next reload waits for them.
    engines_.commit_in_turns(std::move(*prepared), config_, [this, committed] {
        log_->info("config.reloaded", {{"file", config_file_},
                                       {"node", config_.global.node},
                                       {"vrrp_instances", config_.vrrp_instances.size()},
                                       {"virtual_servers", config_.virtual_servers.size()},
                                       {"real_servers", config_.real_server_count()}});
        committed();
    });
    return {};
}

std::vector<std::string> daemon::reject(std::vector<std::string> diagnostics) {
    ++reloads_rejected_;
    last_rejection_ = diagnostics.front();
    log_->error(
        "config.rejected",
        {{"file", config_file_}, {"errors", diagnostics.size()}, {"diagnostics", diagnostics}});
    return diagnostics;
}

void daemon::status(status_done done) {
    statuses_.request(std::move(done));
}

status_snapshot daemon::status_now() const {
    status_snapshot snapshot;
    auto& status = snapshot.daemon;
    status.version = version;
    status.node = config_.global.node;
    status.pid = ::getpid();
    status.started_at = started_at_;
    status.uptime = std::chrono::steady_clock::now() - started_mono_;
    status.config_file = config_file_;
    status.config_loaded_at = config_loaded_at_;
    status.vrrp_instances = config_.vrrp_instances.size();
    status.virtual_servers = config_.virtual_servers.size();
    status.real_servers = config_.real_server_count();
    status.reloads_applied = reloads_applied_;
    status.reloads_rejected = reloads_rejected_;
    status.last_rejection = last_rejection_;
    status.vrrp = engines_.vrrp_status();
    engines_.add_status(snapshot);
    return snapshot;
}

metrics::scrape_inputs daemon::metrics_now() const {
    metrics::scrape_inputs inputs;
    inputs.daemon = {std::string(version), started_at_, config_loaded_at_, reloads_applied_,
                     reloads_rejected_};
    engines_.add_metrics(inputs);
    return inputs;
}

control_target::drain_outcome daemon::drain(const std::string& real_server, bool drained) {
    bool known = std::any_of(
        config_.virtual_servers.begin(), config_.virtual_servers.end(), [&](const auto& vs) {
            return std::any_of(vs.real_servers.begin(), vs.real_servers.end(),
                               [&](const auto& rs) { return rs.name == real_server; });
        });
    bool whole = std::any_of(config_.virtual_servers.begin(), config_.virtual_servers.end(),
                             [&](const auto& vs) { return vs.name == real_server; });
    if (whole && !engines_.announces(real_server)) {
        return {false, "virtual server " + real_server +
                           " is not announced over BGP (announce = {...}); drain its real "
                           "servers (vigil drain " +
                           real_server + " ADDRESS:PORT)"};
    }
    if (!known && !whole) {
        return {false, (real_server.find('/') == std::string::npos ? "no virtual server "
                                                                   : "no real server ") +
                           real_server};
    }
    auto changed = engines_.set_drained(real_server, drained);
    if (!changed) {
        // Not persisted: refused rather than drained now and forgotten after a restart.
        return {false, "cannot write " + config_.global.state_dir +
                           "/drained: " + changed.error().message()};
    }
    return {*changed, {}};
}

control_target::node_drain_outcome daemon::drain_node(bool draining) {
    if (!std::any_of(config_.virtual_servers.begin(), config_.virtual_servers.end(),
                     [](const auto& vs) { return vs.announce.has_value(); })) {
        return {std::chrono::milliseconds(0), "no virtual server is announced over BGP"};
    }
    auto wait = engines_.set_node_draining(draining);
    if (!wait) {
        // Not persisted: refused rather than drained now and announced again after a restart.
        return {std::chrono::milliseconds(0),
                "cannot write " + config_.global.state_dir + "/drained: " + wait.error().message()};
    }
    log_->info(draining ? "node.draining" : "node.undrained",
               {{"drain_wait_ms", static_cast<std::int64_t>(wait->count())}});
    return {*wait, {}};
}

running_state daemon::running() const {
    running_state now;
    if (const auto* reconciler = engines_.reconciler()) {
        now.ipvs = reconciler->state();
        now.owned = reconciler->owned();
        if (reconciler->view().known()) {
            now.kernel = reconciler->view().table();
        }
    }
    now.vrrp = instance_specs(config_);
    now.vrrp_status = engines_.vrrp_status();
    now.checks = checked_real_servers(config_);
    now.virtual_servers = config_.virtual_servers.size();
    now.global = config_.global;
    now.sync_groups = config_.vrrp_sync_groups;
    now.alerts = config_.alerts;
    return now;
}

void daemon::plan(const std::string& file, plan_done done) {
    // The running state is copied here, on the loop; parsing the file and planning happen on the
    // reload worker (after any reload already queued there), like a reload's parse.
    auto path = file.empty() ? config_file_ : file;
    boost::asio::post(reload_worker_, [this, path, now = running(), done = std::move(done)] {
        auto loaded = config::load_configuration(path);
        boost::json::object reply;
        if (!loaded.config) {
            boost::json::array errors;
            for (const auto& d : loaded.diagnostics) {
                errors.emplace_back(config::to_string(d));
            }
            reply["valid"] = false;
            reply["errors"] = std::move(errors);
        } else {
            reply = to_json(plan_reload(now, *loaded.config));
        }
        reply["file"] = path;
        boost::asio::post(io_,
                          [done, reply = std::move(reply)]() mutable { done(std::move(reply)); });
    });
}

}  // namespace vigil
