#include "ipvs/reconciler.hpp"

#include <boost/json/object.hpp>
#include <exception>

#include "ipvs/diff.hpp"
#include "ipvs/state_file.hpp"
#include "ipvs/status.hpp"

namespace vigil::ipvs {

namespace {
// A sync that fails on many operations (a service whose add failed takes all its destinations
// with it) logs this many and counts the rest, so one fault cannot flood the log.
constexpr std::size_t max_failures_logged = 50;

std::string error_text(const std::error_code& ec) {
    return ec.message();
}
}  // namespace

reconciler::reconciler(clock_source& clock, backend& kernel, event_log& log,
                       reconciler_settings settings)
    : clock_(clock),
      sync_timer_(clock.make_timer()),
      batch_timer_(clock.make_timer()),
      backend_(kernel),
      log_(log),
      settings_(std::move(settings)),
      pacer_(settings_.min_sync_interval, settings_.resync_interval, settings_.retry_interval),
      budget_(settings_.incremental_burst, settings_.min_sync_interval) {}

reconciler::~reconciler() = default;

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

void reconciler::note(desired_change change) {
    log_quorum_events(log_, change.events);
    pending_services_.merge(change.services);
    pending_destinations_.merge(change.destinations);
}

void reconciler::set_specs(std::vector<virtual_server_spec> specs) {
    bool first = !state_.configured();
    auto change = state_.set_specs(std::move(specs));
    bool changed = !change.empty();
    note(std::move(change));
    // A config change may add or remove services, which changes what vigil owns: that goes
    // through a full sync, which also repairs whatever else the kernel disagrees on.
    if (first || changed) {
        request_sync();
    }
}

void reconciler::set_health(std::string_view real_server, real_server_health health) {
    note(state_.set_health(real_server, health));
    if (pending_services_.empty() && pending_destinations_.empty()) {
        return;
    }
    if (!started_ || stopped_ || !view_.known()) {
        return;  // nothing to diff against yet: the first full sync applies it
    }
    if (budget_.try_take(clock_.now())) {
        flush_changes("health");
        return;
    }
    if (!batch_timer_->armed_for()) {
        batch_timer_->arm(budget_.window_end(), [this] {
            budget_.batch_sent(clock_.now());
            flush_changes("health_batch");
        });
    }
}

void reconciler::flush_changes(const char* reason) {
    if (stopped_ || (pending_services_.empty() && pending_destinations_.empty())) {
        return;
    }
    const auto& want_table = state_.desired();
    const auto& have_table = view_.table();
    auto find = [](const table& t, const service_key& key) -> const service_entry* {
        auto it = t.find(key);
        return it == t.end() ? nullptr : &it->second;
    };
    std::vector<operation> ops;
    // A service to add or delete changes what vigil owns (and its state file): a full sync.
    bool needs_full_sync = false;
    for (const auto& key : pending_services_) {
        const auto* want = find(want_table, key);
        const auto* have = find(have_table, key);
        if (want && have) {
            diff_service(want, have, true, ops);
        } else if (want || have) {
            needs_full_sync = true;
        }
    }
    for (const auto& [key, address] : pending_destinations_) {
        if (pending_services_.contains(key)) {
            continue;
        }
        const auto* want = find(want_table, key);
        const auto* have = find(have_table, key);
        if (!want || !have) {
            needs_full_sync = true;
            continue;
        }
        auto wd = want->destinations.find(address);
        auto hd = have->destinations.find(address);
        diff_destination(want->settings, wd == want->destinations.end() ? nullptr : &wd->second,
                         hd == have->destinations.end() ? nullptr : &hd->second, ops);
    }
    pending_services_.clear();
    pending_destinations_.clear();

    if (!ops.empty()) {
        auto t0 = clock_.now();
        auto answers = backend_.apply(ops);
        auto apply_time = std::chrono::duration_cast<std::chrono::microseconds>(clock_.now() - t0);
        std::size_t failed = 0;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            if (!answers[i]) {
                view_.acknowledge(ops[i]);
            } else if (++failed <= max_failures_logged) {
                log_failure(ops[i], answers[i]);
            }
        }
        ++counters_.syncs[reason];
        counters_.operations += ops.size();
        counters_.failed += failed;
        log_.info("ipvs.synced", {{"reason", reason},
                                  {"operations", ops.size()},
                                  {"failed", failed},
                                  {"failures_not_logged",
                                   failed > max_failures_logged ? failed - max_failures_logged : 0},
                                  {"services", owned_.size()},
                                  {"dump_ms", 0.0},
                                  {"apply_ms", static_cast<double>(apply_time.count()) / 1000.0}});
        // A refusal (ENOENT, EEXIST, ...) means the view was wrong: dump and diff everything.
        needs_full_sync = needs_full_sync || failed > 0;
    }
    if (needs_full_sync) {
        request_sync();
    }
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
    budget_.set_limits(settings_.incremental_burst, settings_.min_sync_interval);
    request_sync();
}

void reconciler::request_sync() {
    pacer_.request();
    arm();
}

void reconciler::arm() {
    if (!started_ || stopped_ || !state_.configured()) {
        return;
    }
    auto due = pacer_.due();
    if (!due) {
        sync_timer_->cancel();
        return;
    }
    sync_timer_->arm(std::max(*due, clock_.now()), [this] { on_timer(); });
}

void reconciler::on_timer() {
    try {
        sync_now(pacer_.reason());
    } catch (const std::exception& e) {
        // Nothing may escape into the event loop; the next sync tries again.
        log_.error("ipvs.sync_failed", {{"error", e.what()}});
        pacer_.synced(clock_.now(), true);
    }
    arm();
}

void reconciler::log_failure(const operation& op, const std::error_code& answer) {
    log_.error("ipvs.apply_failed",
               {{"op", to_string(op.kind)},
                {"service", to_string(op.svc.key)},
                {"destination", op.is_service_op() ? std::string() : to_string(op.dest.address)},
                {"operation", describe(op)},
                {"errno", answer.value()},
                {"error", error_text(answer)}});
}

sync_report reconciler::sync_now(const char* reason) {
    sync_report report;
    report.reason = reason;
    auto t0 = clock_.now();
    auto actual = backend_.dump();
    auto t1 = clock_.now();
    report.dump_time = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0);
    if (!actual) {
        log_.error("ipvs.dump_failed", {{"backend", backend_.name()},
                                        {"errno", actual.error().value()},
                                        {"error", actual.error().message()}});
        ++counters_.dumps_failed;
        pacer_.synced(t1, true);
        last_report_ = report;
        arm();
        return report;
    }
    report.dump_ok = true;
    view_.replace(std::move(*actual), t1);
    // Whatever incremental changes were waiting, the whole diff covers them.
    pending_services_.clear();
    pending_destinations_.clear();
    const auto& desired = state_.desired();
    auto ops = diff(desired, view_.table(), owned_);
    auto answers = backend_.apply(ops);
    auto t2 = clock_.now();
    report.apply_time = std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1);
    report.operations = ops.size();

    std::set<service_key> owned;
    for (const auto& [key, entry] : desired) {
        owned.insert(key);
    }
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (!answers[i]) {
            view_.acknowledge(ops[i]);
            continue;
        }
        ++report.failed;
        if (ops[i].kind == op_kind::delete_service) {
            owned.insert(ops[i].svc.key);  // still ours to delete next time
        }
        if (report.failed <= max_failures_logged) {
            log_failure(ops[i], answers[i]);
        }
    }
    owned_ = std::move(owned);
    report.services = owned_.size();
    ++counters_.syncs[report.reason];
    counters_.operations += report.operations;
    counters_.failed += report.failed;
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
    arm();
    return report;
}

boost::json::value reconciler::status_json() const {
    auto states = state_.virtual_servers();
    auto table_status = ipvs::status_json({view_.table(), state_.desired(), owned_, state_.specs(),
                                           state_.health(), nullptr, &states});
    boost::json::object out;
    out["backend"] = std::string(backend_.name());
    out["services"] = std::move(table_status.as_object()["services"]);
    out["missing"] = std::move(table_status.as_object()["missing"]);
    if (auto at = view_.dumped_at()) {
        out["kernel_view_age_ms"] =
            std::chrono::duration<double, std::milli>(clock_.now() - *at).count();
    } else {
        out["kernel_view_age_ms"] = nullptr;
    }
    out["kernel_view_operations"] = view_.acknowledged();
    return out;
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
    sync_timer_->cancel();
    batch_timer_->cancel();
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
