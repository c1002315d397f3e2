#include "daemon.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "checker_settings.hpp"
#include "config/loader.hpp"
#include "ipvs/memory_backend.hpp"
#include "ipvs/netlink_backend.hpp"
#include "ipvs/status.hpp"
#include "ipvs_settings.hpp"
#include "logging.hpp"
#include "status.hpp"
#include "version.hpp"
#include "vrrp_settings.hpp"

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
               [this](const boost::json::object& request) { return handle_request(request); }) {}

daemon::~daemon() {
    // What logs goes first; then the log stops feeding the alert hooks before they go.
    health_monitor_.reset();
    vrrp_.reset();
    reconciler_.reset();
    if (auto plain = make_log_sink(config_.global.log)) {
        log_->replace_sink(std::move(plain.value()));
    } else {
        log_->replace_sink(nullptr);
    }
    alerts_.reset();
}

bool daemon::apply_ipvs(const config::configuration& config) {
    auto specs = virtual_server_specs(config);
    auto settings = reconciler_settings(config);
    sync_daemon_instance_ = sync_daemon_instance(config);
    if (!reconciler_) {
        if (specs.empty() && !settings.sync_daemon_settings) {
            return true;  // nothing to program; the kernel need not have IPVS
        }
        if (config.global.ipvs.backend == config::ipvs_backend_choice::memory) {
            ipvs_backend_ = std::make_unique<ipvs::memory_backend>();
        } else {
            // Never a silent fallback: a director whose kernel has no IPVS must not look healthy.
            auto opened = ipvs::netlink_backend::open();
            if (!opened.backend) {
                log_->error("ipvs.start_failed", {{"backend", "netlink"}, {"error", opened.error}});
                return false;
            }
            ipvs_backend_ = std::move(opened.backend);
        }
        std::error_code ignored;
        std::filesystem::create_directories(config.global.state_dir, ignored);
        reconciler_ =
            std::make_unique<ipvs::reconciler>(io_.get_executor(), *ipvs_backend_, *log_, settings);
        ipvs_specs_ = std::move(specs);
        rebuild_ipvs();
        reconciler_->start();
        return true;
    }
    // Reload. Virtual servers that left the config lose their quorum memory in the next build.
    ipvs_specs_ = std::move(specs);
    reconciler_->set_settings(settings);
    rebuild_ipvs();
    return true;
}

void daemon::apply_checks(const config::configuration& config) {
    auto servers = checked_real_servers(config);
    // Health of real servers that left the config is forgotten.
    std::erase_if(health_, [&](const auto& entry) {
        return std::none_of(servers.begin(), servers.end(),
                            [&](const auto& s) { return s.name == entry.first; });
    });
    if (!health_monitor_) {
        if (servers.empty()) {
            return;
        }
        health_monitor_ = std::make_unique<checkers::health_monitor>(
            io_.get_executor(), *log_, random_, clock_,
            [this](const checkers::health_change& change) { on_health_change(change); });
    }
    health_monitor_->set_flap_settings({config.global.flap_threshold, config.global.flap_window});
    health_monitor_->update(std::move(servers));
}

void daemon::on_health_change(const checkers::health_change& change) {
    health_[change.real_server] =
        ipvs::real_server_health{change.state == checkers::health::up, change.weight};
    if (rebuild_pending_) {
        return;
    }
    rebuild_pending_ = true;
    boost::asio::post(io_, [this] {
        rebuild_pending_ = false;
        rebuild_ipvs();
    });
}

void daemon::rebuild_ipvs() {
    if (!reconciler_) {
        return;
    }
    // A drained real server stays in the table at weight 0: established connections finish,
    // new ones go elsewhere. Its health still decides whether it is there at all.
    auto health = health_;
    for (const auto& name : drained_) {
        health[name].weight = 0;
    }
    last_build_ = desired_builder_.build(ipvs_specs_, health);
    ipvs::log_quorum_events(*log_, last_build_.events);
    reconciler_->set_desired(last_build_.desired);
}

bool daemon::apply_vrrp(const config::configuration& config) {
    auto routers = instance_specs(config);
    auto groups = sync_group_specs(config);
    if (!vrrp_) {
        if (routers.empty()) {
            return true;
        }
        address_effects_ = std::make_unique<vrrp::netlink_effects>();
        if (!address_effects_->ok()) {
            log_->error("vrrp.start_failed", {{"error", "cannot open a route netlink socket"}});
            return false;
        }
        vrrp_ = std::make_unique<vrrp::instance_set>(io_.get_executor(), *log_, *address_effects_);
        vrrp_->on_state_change([this](const std::string& instance, vrrp::state to) {
            // keepalived's lvs_sync_daemon: master daemon while MASTER, backup otherwise.
            if (reconciler_ && sync_daemon_instance_ == instance) {
                reconciler_->set_sync_mode(to == vrrp::state::master ? ipvs::sync_mode::master
                                           : to == vrrp::state::initialize
                                               ? ipvs::sync_mode::none
                                               : ipvs::sync_mode::backup);
            }
        });
        if (auto error = vrrp_->start(std::move(routers), std::move(groups))) {
            log_->error("vrrp.start_failed", {{"error", *error}});
            return false;
        }
        return true;
    }
    if (auto error = vrrp_->reconfigure(std::move(routers), std::move(groups))) {
        log_->error("vrrp.start_failed", {{"error", *error}});
        return false;
    }
    return true;
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
        hooks.push_back({a.events, a.command, a.url, a.timeout, a.retries});
    }
    alerts_->set_hooks(std::move(hooks));
    log_->replace_sink(make_alerting_sink(std::move(sink.value()), *alerts_));
    log_->set_threshold(settings.level);
    return true;
}

int daemon::run() {
    if (!apply_log_settings(config_)) {
        return 1;
    }
    if (auto error = control_.open(config_.global.control_socket)) {
        log_->error("control.failed",
                    {{"socket", config_.global.control_socket}, {"error", *error}});
        return 1;
    }
    log_->info("config.loaded", {{"file", config_file_},
                                 {"node", config_.global.node},
                                 {"vrrp_instances", config_.vrrp_instances.size()},
                                 {"virtual_servers", config_.virtual_servers.size()},
                                 {"real_servers", config_.real_server_count()}});
    // IPVS first: the table is programmed whichever VRRP state this node ends up in.
    load_drained();
    if (!apply_ipvs(config_) || !apply_vrrp(config_)) {
        control_.close();
        return 1;
    }
    apply_checks(config_);
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
    if (reconciler_ && !reconciler_->last_report()) {
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
            (void)reload();
            wait_for_signal();
            return;
        }
        log_->info("daemon.stopping", {{"signal", std::string(::sigabbrev_np(signal_number))}});
        notifier_.notify("STOPPING=1");
        // Masters resign (priority 0) so a backup takes over after Skew_Time, not after
        // Master_Down_Interval, and the VIPs leave this node.
        control_.close();
        health_monitor_.reset();  // no more probes: the loop is winding down
        if (reconciler_) {
            reconciler_->shutdown();
        }
        if (vrrp_) {
            vrrp_->shutdown();
            finish_notifications(std::chrono::steady_clock::now() + notify_grace);
            return;
        }
        io_.stop();
    });
}

void daemon::finish_notifications(std::chrono::steady_clock::time_point give_up_at) {
    // notify_stop (and any notify still queued) runs to completion before the process exits,
    // bounded so a hung program cannot hold up a stop.
    if (!vrrp_->notifying() || std::chrono::steady_clock::now() >= give_up_at) {
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

std::vector<std::string> daemon::reload() {
    notifier_.notify("RELOADING=1");
    // Whatever the outcome, the daemon is serving again when this returns.
    struct ready_again {
        const service_notifier& notifier;
        ~ready_again() { notifier.notify("READY=1"); }
    } ready{notifier_};
    auto result = config::load_configuration(config_file_);
    if (!result.config) {
        return reject(diagnostic_lines(result.diagnostics));
    }
    auto next = std::move(*result.config);
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
    config_ = std::move(next);
    apply_checks(config_);
    apply_ipvs(config_);
    apply_vrrp(config_);
    config_loaded_at_ = std::chrono::system_clock::now();
    ++reloads_applied_;
    log_->info("config.reloaded", {{"file", config_file_},
                                   {"node", config_.global.node},
                                   {"vrrp_instances", config_.vrrp_instances.size()},
                                   {"virtual_servers", config_.virtual_servers.size()},
                                   {"real_servers", config_.real_server_count()}});
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

boost::json::object daemon::status_json() const {
    daemon_status status;
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
    if (vrrp_) {
        status.vrrp = vrrp_->status();
    }
    auto document = to_json(status);
    boost::json::array servers;
    if (health_monitor_) {
        auto wall_now = std::chrono::system_clock::now();
        auto mono_now = clock_.now();
        auto wall = [&](time_point t) {
            return format_utc(
                wall_now -
                std::chrono::duration_cast<std::chrono::system_clock::duration>(mono_now - t));
        };
        for (const auto& r : health_monitor_->status()) {
            boost::json::object o;
            o["name"] = r.name;
            o["virtual_server"] = r.virtual_server;
            o["check"] = checkers::to_string(r.check);
            o["state"] = r.state == checkers::health::up ? "up" : "down";
            o["since"] = wall(r.since);
            o["weight"] = r.weight;
            o["checked"] = r.checked;
            if (r.checked) {
                o["last_result"] = r.last.reason;
                o["last_success"] = r.last.success;
                o["latency_ms"] = r.last.latency.count();
                o["last_checked"] = wall(r.last_checked);
            }
            o["consecutive"] = r.consecutive;
            o["pending"] = r.pending;
            servers.push_back(std::move(o));
        }
    }
    document["real_servers"] = std::move(servers);
    boost::json::array drained;
    for (const auto& name : drained_) {
        drained.emplace_back(name);
    }
    document["drained"] = std::move(drained);
    if (reconciler_) {
        boost::json::object section;
        section["backend"] = std::string(ipvs_backend_->name());
        auto kernel = ipvs_backend_->dump();
        if (kernel.has_value()) {
            auto table_status =
                ipvs::status_json({*kernel, reconciler_->desired(), reconciler_->owned(),
                                   ipvs_specs_, health_, &last_build_});
            section["services"] = table_status.as_object().at("services");
            section["missing"] = table_status.as_object().at("missing");
        } else {
            section["error"] = kernel.error().message();
        }
        document["ipvs"] = std::move(section);
    }
    return document;
}

void daemon::load_drained() {
    drained_.clear();
    std::ifstream in(std::filesystem::path(config_.global.state_dir) / "drained");
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            drained_.insert(line);
        }
    }
}

bool daemon::save_drained() {
    // Written aside and renamed, so a crash never leaves half a file.
    auto path = std::filesystem::path(config_.global.state_dir) / "drained";
    auto temporary = path;
    temporary += ".tmp";
    std::error_code ignored;
    std::filesystem::create_directories(path.parent_path(), ignored);
    {
        std::ofstream out(temporary, std::ios::trunc);
        for (const auto& name : drained_) {
            out << name << "\n";
        }
        if (!out.flush()) {
            return false;
        }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    return !ec;
}

boost::json::object daemon::drain(const boost::json::object& request, bool drained) {
    boost::json::object reply;
    const auto* name = request.if_contains("real_server");
    if (!name || !name->is_string()) {
        reply["error"] = "a drain names a real_server";
        return reply;
    }
    std::string wanted(name->as_string());
    const config::real_server* found = nullptr;
    for (const auto& vs : config_.virtual_servers) {
        for (const auto& rs : vs.real_servers) {
            if (rs.name == wanted) {
                found = &rs;
            }
        }
    }
    if (!found) {
        reply["error"] = "no real server " + wanted;
        return reply;
    }
    bool changed = drained ? drained_.insert(wanted).second : drained_.erase(wanted) > 0;
    if (changed) {
        if (!save_drained()) {
            // Not persisted: refuse rather than drain for now and forget after a restart.
            if (drained) {
                drained_.erase(wanted);
            } else {
                drained_.insert(wanted);
            }
            reply["error"] = "cannot write " + config_.global.state_dir + "/drained";
            return reply;
        }
        log_->info(drained ? "real_server.drained" : "real_server.undrained",
                   {{"real_server", wanted}});
        rebuild_ipvs();
    }
    reply["real_server"] = wanted;
    reply["drained"] = drained;
    reply["changed"] = changed;
    return reply;
}

boost::json::object daemon::handle_request(const boost::json::object& request) {
    const auto* command = request.if_contains("command");
    if (command && command->is_string() && command->as_string() == "status") {
        return status_json();
    }
    if (command && command->is_string() && command->as_string() == "reload") {
        auto errors = reload();
        boost::json::object reply;
        reply["reloaded"] = errors.empty();
        boost::json::array list;
        for (const auto& e : errors) {
            list.emplace_back(e);
        }
        reply["errors"] = std::move(list);
        return reply;
    }
    if (command && command->is_string() &&
        (command->as_string() == "drain" || command->as_string() == "undrain")) {
        return drain(request, command->as_string() == "drain");
    }
    boost::json::object reply;
    reply["error"] = "unknown command; known: status, reload, drain, undrain";
    return reply;
}

}  // namespace vigil
