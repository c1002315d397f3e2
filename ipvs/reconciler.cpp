#include "ipvs/reconciler.hpp"

#include <exception>

#include "ipvs/diff.hpp"
#include "ipvs/state_file.hpp"

namespace vigil::ipvs {

namespace {
// A sync that fails on many operations (a service whose add failed takes all its destinations
// with it) logs this many and counts the rest, so one fault cannot flood the log.
constexpr std::size_t max_failures_logged = 50;

std::string error_text(const std::error_code& ec) {
    return ec.message();
}
}  // namespace

reconciler::reconciler(boost::asio::any_io_executor executor, backend& kernel, event_log& log,
                       reconciler_settings settings)
    : timer_(executor),
      backend_(kernel),
      log_(log),
      settings_(std::move(settings)),
      pacer_(settings_.min_sync_interval, settings_.resync_interval, settings_.retry_interval) {}

reconciler::~reconciler() {
    alive_.reset();
    timer_.cancel();
}

void reconciler::start() {
    if (!settings_.state_file.empty()) {
        auto loaded = load_owned(settings_.state_file);
        if (loaded) {
            owned_ = *loaded;
            saved_ = *loaded;
        } else {
            // Without the list vigil cannot know what a previous run created; it still manages
            // everything in the config, and the next save rewrites the file.
            log_.error("ipvs.state_load_failed",
                       {{"file", settings_.state_file.string()}, {"error", loaded.error()}});
        }
    }
    started_ = true;
    log_.info("ipvs.started", {{"backend", backend_.name()},
                               {"owned_services", owned_.size()},
                               {"state_file", settings_.state_file.string()}});
    arm();
}

void reconciler::set_desired(table desired) {
    desired_ = std::move(desired);
    have_desired_ = true;
    request_sync();
}

void reconciler::set_sync_mode(sync_mode mode) {
    if (mode == mode_) {
        return;
    }
    mode_ = mode;
    // A VRRP transition must not wait for the rate limit: the new master should send
    // connection state at once.
    if (started_ && !stopped_ && !reconcile_daemons(mode_)) {
        pacer_.failed_between_syncs();
        arm();
    }
}

void reconciler::set_settings(const reconciler_settings& settings) {
    if (!settings.sync_daemon_settings && settings_.sync_daemon_settings) {
        // Sync was configured and no longer is: stop what vigil started, while the settings
        // in force still say what that was.
        reconcile_daemons(sync_mode::none);
    }
    settings_ = settings;
    pacer_.set_intervals(settings_.min_sync_interval, settings_.resync_interval,
                         settings_.retry_interval);
    pacer_.request();
    arm();
}

void reconciler::request_sync() {
    pacer_.request();
    arm();
}

void reconciler::arm() {
    if (!started_ || stopped_ || !have_desired_) {
        return;
    }
    auto due = pacer_.due();
    timer_.cancel();
    if (!due) {
        return;
    }
    timer_.expires_at(std::max(*due, mono_clock::now()));
    std::weak_ptr<int> alive = alive_;
    timer_.async_wait([this, alive](const boost::system::error_code& ec) {
        if (ec || alive.expired()) {
            return;
        }
        on_timer();
    });
}

void reconciler::on_timer() {
    try {
        sync_now(pacer_.reason());
    } catch (const std::exception& e) {
        // Nothing may escape into the event loop; the next sync tries again.
        log_.error("ipvs.sync_failed", {{"error", e.what()}});
        pacer_.synced(mono_clock::now(), true);
    }
    arm();
}

sync_report reconciler::sync_now(const char* reason) {
    sync_report report;
    report.reason = reason;
    auto t0 = mono_clock::now();
    auto actual = backend_.dump();
    auto t1 = mono_clock::now();
    report.dump_time = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0);
    if (!actual) {
        log_.error("ipvs.dump_failed", {{"backend", backend_.name()},
                                        {"errno", actual.error().value()},
                                        {"error", actual.error().message()}});
        pacer_.synced(t1, true);
        last_report_ = report;
        return report;
    }
    report.dump_ok = true;
    auto ops = diff(desired_, *actual, owned_);
    auto answers = backend_.apply(ops);
    auto t2 = mono_clock::now();
    report.apply_time = std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1);
    report.operations = ops.size();

    std::set<service_key> owned;
    for (const auto& [key, entry] : desired_) {
        owned.insert(key);
    }
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (!answers[i]) {
            continue;
        }
        ++report.failed;
        if (ops[i].kind == op_kind::delete_service) {
            owned.insert(ops[i].svc.key);  // still ours to delete next time
        }
        if (report.failed <= max_failures_logged) {
            log_.error("ipvs.apply_failed",
                       {{"op", to_string(ops[i].kind)},
                        {"service", to_string(ops[i].svc.key)},
                        {"destination",
                         ops[i].is_service_op() ? std::string() : to_string(ops[i].dest.address)},
                        {"operation", describe(ops[i])},
                        {"errno", answers[i].value()},
                        {"error", error_text(answers[i])}});
        }
    }
    owned_ = std::move(owned);
    report.services = owned_.size();
    bool failed = report.failed > 0;
    if (!save_state()) {
        failed = true;
    }
    if (!reconcile_daemons(mode_)) {
        failed = true;
    }
    pacer_.synced(t2, failed);
    if (report.operations > 0 || report.failed > 0) {
        log_.info("ipvs.synced",
                  {{"reason", report.reason},
                   {"operations", report.operations},
                   {"failed", report.failed},
                   {"failures_not_logged",
                    report.failed > max_failures_logged ? report.failed - max_failures_logged : 0},
                   {"services", report.services},
                   {"dump_ms", static_cast<double>(report.dump_time.count()) / 1000.0},
                   {"apply_ms", static_cast<double>(report.apply_time.count()) / 1000.0}});
    } else {
        log_.debug("ipvs.synced",
                   {{"reason", report.reason},
                    {"operations", 0},
                    {"services", report.services},
                    {"dump_ms", static_cast<double>(report.dump_time.count()) / 1000.0}});
    }
    last_report_ = report;
    return report;
}

bool reconciler::save_state() {
    if (settings_.state_file.empty() || saved_ == owned_) {
        return true;
    }
    auto error = save_owned(settings_.state_file, owned_);
    if (!error.empty()) {
        log_.error("ipvs.state_save_failed",
                   {{"file", settings_.state_file.string()}, {"error", error}});
        return false;
    }
    saved_ = owned_;
    return true;
}

bool reconciler::reconcile_daemons(sync_mode mode) {
    if (!settings_.sync_daemon_settings) {
        return true;
    }
    auto running = backend_.daemons();
    if (!running) {
        log_.error("ipvs.sync_daemon_failed", {{"operation", "list"},
                                               {"errno", running.error().value()},
                                               {"error", running.error().message()}});
        return false;
    }
    auto plan = plan_sync_daemons(settings_.sync_daemon_settings, mode, *running);
    bool ok = true;
    for (auto role : plan.stop) {
        if (auto ec = backend_.stop_daemon(role)) {
            ok = false;
            log_.error("ipvs.sync_daemon_failed", {{"operation", "stop"},
                                                   {"role", to_string(role)},
                                                   {"errno", ec.value()},
                                                   {"error", ec.message()}});
        } else {
            log_.info("ipvs.sync_daemon_stopped", {{"role", to_string(role)}});
        }
    }
    for (const auto& d : plan.start) {
        if (auto ec = backend_.start_daemon(d)) {
            ok = false;
            log_.error("ipvs.sync_daemon_failed", {{"operation", "start"},
                                                   {"role", to_string(d.role)},
                                                   {"interface", d.interface},
                                                   {"sync_id", d.sync_id},
                                                   {"errno", ec.value()},
                                                   {"error", ec.message()}});
        } else {
            log_.info(
                "ipvs.sync_daemon_started",
                {{"role", to_string(d.role)}, {"interface", d.interface}, {"sync_id", d.sync_id}});
        }
    }
    return ok;
}

void reconciler::shutdown() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    timer_.cancel();
    try {
        if (settings_.remove_on_shutdown) {
            std::size_t removed = 0;
            std::size_t failed = 0;
            auto actual = backend_.dump();
            if (!actual) {
                log_.error("ipvs.dump_failed", {{"backend", backend_.name()},
                                                {"errno", actual.error().value()},
                                                {"error", actual.error().message()}});
            } else {
                auto ops = diff(table{}, *actual, owned_);
                auto answers = backend_.apply(ops);
                std::set<service_key> left;
                for (std::size_t i = 0; i < ops.size(); ++i) {
                    if (answers[i]) {
                        ++failed;
                        left.insert(ops[i].svc.key);
                        log_.error("ipvs.apply_failed", {{"op", to_string(ops[i].kind)},
                                                         {"service", to_string(ops[i].svc.key)},
                                                         {"destination", ""},
                                                         {"operation", describe(ops[i])},
                                                         {"errno", answers[i].value()},
                                                         {"error", answers[i].message()}});
                    } else {
                        ++removed;
                    }
                }
                owned_ = left;
                save_state();
            }
            log_.info(
                "ipvs.stopped",
                {{"services_removed", removed}, {"failed", failed}, {"on_shutdown", "remove"}});
        } else {
            log_.info("ipvs.stopped", {{"services_left", owned_.size()}, {"on_shutdown", "leave"}});
        }
        reconcile_daemons(sync_mode::none);
    } catch (const std::exception& e) {
        log_.error("ipvs.sync_failed", {{"error", e.what()}});
    }
}

void log_quorum_events(event_log& log, std::span<const quorum_event> events) {
    for (const auto& e : events) {
        std::initializer_list<log_field> fields = {{"virtual_server", e.virtual_server},
                                                   {"healthy_weight", e.healthy_weight},
                                                   {"quorum", e.quorum},
                                                   {"hysteresis", e.hysteresis},
                                                   {"sorry_server", e.sorry_server_active}};
        if (e.up) {
            log.info("virtual_server.quorum_regained", fields);
        } else {
            log.warning("virtual_server.quorum_lost", fields);
        }
    }
}

}  // namespace vigil::ipvs
