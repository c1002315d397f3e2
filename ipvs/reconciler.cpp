#include "ipvs/reconciler.hpp"

#include <boost/json/object.hpp>
#include <exception>

#include "base/durable_file.hpp"
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

double milliseconds(std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
}

template <class Call>
auto timed(Call call) {
    auto t0 = mono_clock::now();
    auto value = call();
    return std::pair{std::move(value),
                     std::chrono::duration_cast<std::chrono::microseconds>(mono_clock::now() - t0)};
}

// One step of bringing the sync daemons in line, and the kernel's answer to it.
struct daemon_step {
    bool start = false;  // else a stop
    sync_daemon daemon;
    std::error_code answer;
};
struct daemon_answer {
    std::error_code list_error;
    std::vector<daemon_step> steps;
};

// On the worker: the plan is made against the list read in the same job, so no other request can
// change the running daemons between the reading and the acting.
daemon_answer reconcile_daemons_in(backend& kernel, const std::optional<sync_daemon>& settings,
                                   sync_mode mode) {
    daemon_answer out;
    auto running = kernel.daemons();
    if (!running) {
        out.list_error = running.error();
        return out;
    }
    auto plan = plan_sync_daemons(settings, mode, *running);
    for (auto role : plan.stop) {
        daemon_step step;
        step.daemon.role = role;
        step.answer = kernel.stop_daemon(role);
        out.steps.push_back(std::move(step));
    }
    for (const auto& d : plan.start) {
        out.steps.push_back({true, d, kernel.start_daemon(d)});
    }
    return out;
}

// Logs what a daemon job did; false when anything failed.
bool log_daemons(event_log& log, const daemon_answer& answer) {
    if (answer.list_error) {
        log.error("ipvs.sync_daemon_failed", {{"operation", "list"},
                                              {"errno", answer.list_error.value()},
                                              {"error", answer.list_error.message()}});
        return false;
    }
    bool ok = true;
    for (const auto& step : answer.steps) {
        const auto& d = step.daemon;
        const auto& ec = step.answer;
        if (!step.start) {
            if (ec) {
                ok = false;
                log.error("ipvs.sync_daemon_failed", {{"operation", "stop"},
                                                      {"role", to_string(d.role)},
                                                      {"errno", ec.value()},
                                                      {"error", ec.message()}});
            } else {
                log.info("ipvs.sync_daemon_stopped", {{"role", to_string(d.role)}});
            }
        } else if (ec) {
            ok = false;
            log.error("ipvs.sync_daemon_failed", {{"operation", "start"},
                                                  {"role", to_string(d.role)},
                                                  {"interface", d.interface},
                                                  {"sync_id", d.sync_id},
                                                  {"errno", ec.value()},
                                                  {"error", ec.message()}});
        } else {
            log.info(
                "ipvs.sync_daemon_started",
                {{"role", to_string(d.role)}, {"interface", d.interface}, {"sync_id", d.sync_id}});
        }
    }
    return ok;
}

// The shutdown policy, as one job: it must reach the kernel even when the loop stops before the
// answer comes back (the worker runs every job submitted before it goes), so the dump, the diff
// against an empty table (pure, on the job's own copies) and the apply are not split across loop
// turns.
struct shutdown_answer {
    std::optional<std::error_code> dump_error;
    std::vector<operation> ops;
    std::vector<std::error_code> answers;
    std::set<service_key> left;
    std::string save_error;
    std::optional<daemon_answer> daemons;
};

}  // namespace

reconciler::reconciler(clock_source& clock, backend_worker& kernel, event_log& log,
                       reconciler_spec settings)
    : clock_(clock),
      sync_timer_(clock.make_timer()),
      batch_timer_(clock.make_timer()),
      worker_(kernel),
      log_(log),
      settings_(std::move(settings)),
      pacer_(settings_.min_sync_interval, settings_.resync_interval, settings_.retry_interval),
      budget_(settings_.incremental_burst, settings_.min_sync_interval) {}

reconciler::~reconciler() = default;

void reconciler::start() {
    if (!settings_.state_file.empty()) {
        // A crash between writing and renaming leaves the temporary behind; the file itself is
        // whole either way.
        remove_stale_temporary(settings_.state_file);
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
    log_.info("ipvs.started", {{"backend", worker_.backend_name()},
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
    send_pending();
}

void reconciler::send_pending() {
    if (pending_services_.empty() && pending_destinations_.empty()) {
        return;
    }
    if (!started_ || stopped_ || !view_.known()) {
        return;  // nothing to diff against yet: the first full sync applies it
    }
    // The view does not hold the effect of the request in flight yet: a diff now could miss or
    // repeat an operation. Its answer sends what waits (request_done).
    if (table_request_in_flight_ || batch_timer_->armed_for()) {
        return;
    }
    if (budget_.try_take(clock_.now())) {
        flush_changes("health");
        return;
    }
    batch_timer_->arm(budget_.window_end(), [this] {
        budget_.batch_sent(clock_.now());
        flush_changes("health_batch");
    });
}

void reconciler::flush_changes(const char* reason) {
    if (stopped_ || table_request_in_flight_ ||
        (pending_services_.empty() && pending_destinations_.empty())) {
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

    if (ops.empty()) {
        if (needs_full_sync) {
            request_sync();
        }
        return;
    }
    auto shared = std::make_shared<const std::vector<operation>>(std::move(ops));
    table_request_in_flight_ = true;
    send(
        [shared](backend& kernel) {
            auto [answers, took] = timed([&] { return kernel.apply(*shared); });
            return timed_apply{std::move(answers), took};
        },
        [this, shared, reason, needs_full_sync](backend_worker::outcome<timed_apply> applied) {
            on_applied(reason, shared, std::move(applied), needs_full_sync);
        });
}

void reconciler::on_applied(const char* reason, const shared_operations& ops,
                            backend_worker::outcome<timed_apply> applied, bool needs_full_sync) {
    if (stopped_) {
        table_request_in_flight_ = false;
        return;  // the shutdown policy dumps for itself
    }
    std::size_t failed = 0;
    std::chrono::microseconds apply_time{0};
    if (!applied) {
        // Whether the kernel applied any of it is unknown: only a dump can tell.
        log_.error("ipvs.sync_failed", {{"error", describe(applied.error())}});
        failed = ops->size();
    } else {
        apply_time = applied->took;
        const auto& answers = applied->answers;
        for (std::size_t i = 0; i < ops->size(); ++i) {
            if (!answers[i]) {
                view_.acknowledge((*ops)[i]);
            } else if (++failed <= max_failures_logged) {
                log_failure((*ops)[i], answers[i]);
            }
        }
    }
    ++counters_.syncs[reason];
    counters_.operations += ops->size();
    counters_.failed += failed;
    log_.info("ipvs.synced", {{"reason", reason},
                              {"operations", ops->size()},
                              {"failed", failed},
                              {"failures_not_logged",
                               failed > max_failures_logged ? failed - max_failures_logged : 0},
                              {"services", owned_.size()},
                              {"dump_ms", 0.0},
                              {"apply_ms", milliseconds(apply_time)}});
    // A refusal (ENOENT, EEXIST, ...) means the view was wrong: dump and diff everything.
    if (needs_full_sync || failed > 0) {
        pacer_.request();
    }
    request_done();
}

void reconciler::request_done() {
    table_request_in_flight_ = false;
    if (stopped_) {
        return;
    }
    if (sync_waiting_) {
        // The full sync's diff covers whatever changes wait too.
        auto reason = *sync_waiting_;
        sync_waiting_.reset();
        sync_now(reason);
        return;
    }
    arm();
    send_pending();
}

void reconciler::set_sync_mode(sync_mode mode) {
    if (mode == mode_) {
        return;
    }
    mode_ = mode;
    // A VRRP transition must not wait for the rate limit: the new master should send
    // connection state at once.
    if (started_ && !stopped_) {
        reconcile_daemons(mode_);
    }
}

void reconciler::set_spec(const reconciler_spec& settings) {
    if (!settings.sync_daemon_settings && settings_.sync_daemon_settings) {
        // Sync was configured and no longer is: stop what vigil started, while the settings
        // in force still say what that was (the job takes its own copy).
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
    // While a request is in flight nothing may start; its answer arms the timer again.
    if (!due || table_request_in_flight_) {
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

void reconciler::sync_now(const char* reason, report_handler done) {
    if (done) {
        report_waiters_.push_back(std::move(done));
    }
    if (stopped_) {
        return;
    }
    if (table_request_in_flight_) {
        sync_waiting_ = reason;
        return;
    }
    sync_report report;
    report.reason = reason;
    send(
        [](backend& kernel) {
            auto [dumped, took] = timed([&] { return kernel.dump(); });
            return timed_dump{std::move(dumped), took};
        },
        [this, report = std::move(report)](backend_worker::outcome<timed_dump> dumped) mutable {
            on_dumped(std::move(report), std::move(dumped));
        });
    table_request_in_flight_ = true;
    current_waiters_ = std::move(report_waiters_);
    report_waiters_.clear();
}

void reconciler::on_dumped(sync_report report, backend_worker::outcome<timed_dump> dumped) {
    if (stopped_) {
        table_request_in_flight_ = false;
        return;
    }
    auto now = clock_.now();
    if (!dumped || !dumped->answer) {
        if (!dumped) {
            log_.error("ipvs.sync_failed", {{"error", describe(dumped.error())}});
        } else {
            auto error = dumped->answer.error();
            report.dump_time = dumped->took;
            log_.error("ipvs.dump_failed", {{"backend", worker_.backend_name()},
                                            {"errno", error.value()},
                                            {"error", error.message()}});
            ++counters_.dumps_failed;
        }
        pacer_.synced(now, true);
        finish_sync(std::move(report));
        return;
    }
    report.dump_ok = true;
    report.dump_time = dumped->took;
    view_.replace(std::move(*dumped->answer), now);
    // Whatever incremental changes were waiting, the whole diff covers them.
    pending_services_.clear();
    pending_destinations_.clear();
    const auto& desired = state_.desired();
    auto ops = std::make_shared<const std::vector<operation>>(diff(desired, view_.table(), owned_));
    std::set<service_key> owned;
    for (const auto& [key, entry] : desired) {
        owned.insert(key);
    }
    if (ops->empty()) {
        on_synced(std::move(report), std::move(owned), ops, timed_apply{});
        return;
    }
    send(
        [ops](backend& kernel) {
            auto [answers, took] = timed([&] { return kernel.apply(*ops); });
            return timed_apply{std::move(answers), took};
        },
        [this, report = std::move(report), owned = std::move(owned),
         ops](backend_worker::outcome<timed_apply> applied) mutable {
            on_synced(std::move(report), std::move(owned), ops, std::move(applied));
        });
}

void reconciler::on_synced(sync_report report, std::set<service_key> owned,
                           const shared_operations& ops,
                           backend_worker::outcome<timed_apply> applied) {
    if (stopped_) {
        table_request_in_flight_ = false;
        return;
    }
    auto now = clock_.now();
    report.operations = ops->size();
    std::vector<std::error_code> answers;
    if (!applied) {
        log_.error("ipvs.sync_failed", {{"error", describe(applied.error())}});
        answers.assign(ops->size(), std::make_error_code(std::errc::io_error));
    } else {
        report.apply_time = applied->took;
        answers = std::move(applied->answers);
    }
    for (std::size_t i = 0; i < ops->size(); ++i) {
        const auto& op = (*ops)[i];
        if (!answers[i]) {
            view_.acknowledge(op);
            continue;
        }
        ++report.failed;
        if (op.kind == op_kind::delete_service) {
            owned.insert(op.svc.key);  // still ours to delete next time
        }
        if (report.failed <= max_failures_logged) {
            log_failure(op, answers[i]);
        }
    }
    owned_ = std::move(owned);
    report.services = owned_.size();
    ++counters_.syncs[report.reason];
    counters_.operations += report.operations;
    counters_.failed += report.failed;
    pacer_.synced(now, report.failed > 0);
    // Both go to the worker behind this sync; a failure of either brings the next sync forward.
    save_state();
    reconcile_daemons(mode_);
    if (report.operations > 0 || report.failed > 0) {
        log_.info("ipvs.synced",
                  {{"reason", report.reason},
                   {"operations", report.operations},
                   {"failed", report.failed},
                   {"failures_not_logged",
                    report.failed > max_failures_logged ? report.failed - max_failures_logged : 0},
                   {"services", report.services},
                   {"dump_ms", milliseconds(report.dump_time)},
                   {"apply_ms", milliseconds(report.apply_time)}});
    } else {
        log_.debug("ipvs.synced", {{"reason", report.reason},
                                   {"operations", 0},
                                   {"services", report.services},
                                   {"dump_ms", milliseconds(report.dump_time)}});
    }
    finish_sync(std::move(report));
}

void reconciler::finish_sync(sync_report report) {
    last_report_ = report;
    auto waiters = std::move(current_waiters_);
    current_waiters_.clear();
    for (auto& waiter : waiters) {
        waiter(report);
    }
    request_done();
}

status_snapshot reconciler::status() const {
    status_snapshot out;
    out.backend = std::string(worker_.backend_name());
    out.kernel = view_.table();
    out.desired = state_.desired();
    out.owned = owned_;
    out.servers = state_.specs();
    out.health = state_.health();
    out.virtual_servers = state_.virtual_servers();
    if (auto at = view_.dumped_at()) {
        out.kernel_view_age_ms =
            std::chrono::duration<double, std::milli>(clock_.now() - *at).count();
    }
    out.kernel_view_operations = view_.acknowledged();
    return out;
}

boost::json::value reconciler::status_json() const {
    return ipvs::status_json(status());
}

void reconciler::save_state() {
    if (settings_.state_file.empty() || saved_ == owned_) {
        return;
    }
    // fsync is disk I/O that can take long on a busy disk: it waits on the worker, not the loop.
    send(
        [file = settings_.state_file, owned = owned_](backend&) { return save_owned(file, owned); },
        [this, file = settings_.state_file,
         owned = owned_](backend_worker::outcome<std::string> saved) {
            std::string error = saved ? *saved : describe(saved.error());
            if (error.empty()) {
                saved_ = owned;
                return;
            }
            log_.error("ipvs.state_save_failed", {{"file", file.string()}, {"error", error}});
            if (!stopped_) {
                pacer_.failed_between_syncs();
                arm();
            }
        });
}

void reconciler::reconcile_daemons(sync_mode mode) {
    if (!settings_.sync_daemon_settings) {
        return;
    }
    send([settings = settings_.sync_daemon_settings,
          mode](backend& kernel) { return reconcile_daemons_in(kernel, settings, mode); },
         [this](backend_worker::outcome<daemon_answer> answer) {
             bool ok = false;
             if (!answer) {
                 log_.error("ipvs.sync_daemon_failed",
                            {{"operation", "reconcile"}, {"error", describe(answer.error())}});
             } else {
                 ok = log_daemons(log_, *answer);
             }
             if (!ok && !stopped_) {
                 pacer_.failed_between_syncs();
                 arm();
             }
         });
}

void reconciler::shutdown() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    shutting_down_ = true;
    sync_timer_->cancel();
    batch_timer_->cancel();
    pending_services_.clear();
    pending_destinations_.clear();
    sync_waiting_.reset();
    bool remove = settings_.remove_on_shutdown;
    send(
        [remove, owned = owned_, file = settings_.state_file,
         daemon_settings = settings_.sync_daemon_settings](backend& kernel) {
            shutdown_answer out;
            out.left = owned;
            if (remove) {
                auto actual = kernel.dump();
                if (!actual) {
                    out.dump_error = actual.error();
                } else {
                    out.ops = diff(table{}, *actual, owned);
                    out.answers = kernel.apply(out.ops);
                    out.left.clear();
                    for (std::size_t i = 0; i < out.ops.size(); ++i) {
                        if (out.answers[i]) {
                            out.left.insert(out.ops[i].svc.key);
                        }
                    }
                    if (!file.empty() && out.left != owned) {
                        out.save_error = save_owned(file, out.left);
                    }
                }
            }
            if (daemon_settings) {
                out.daemons = reconcile_daemons_in(kernel, daemon_settings, sync_mode::none);
            }
            return out;
        },
        [this, remove](backend_worker::outcome<shutdown_answer> answer) {
            shutting_down_ = false;
            if (!answer) {
                log_.error("ipvs.sync_failed", {{"error", describe(answer.error())}});
                return;
            }
            if (!remove) {
                log_.info("ipvs.stopped",
                          {{"services_left", owned_.size()}, {"on_shutdown", "leave"}});
            } else {
                std::size_t removed = 0;
                std::size_t failed = 0;
                if (answer->dump_error) {
                    log_.error("ipvs.dump_failed", {{"backend", worker_.backend_name()},
                                                    {"errno", answer->dump_error->value()},
                                                    {"error", answer->dump_error->message()}});
                }
                for (std::size_t i = 0; i < answer->ops.size(); ++i) {
                    if (answer->answers[i]) {
                        ++failed;
                        log_failure(answer->ops[i], answer->answers[i]);
                    } else {
                        ++removed;
                    }
                }
                if (!answer->save_error.empty()) {
                    log_.error("ipvs.state_save_failed", {{"file", settings_.state_file.string()},
                                                          {"error", answer->save_error}});
                } else {
                    saved_ = answer->left;
                }
                owned_ = std::move(answer->left);
                log_.info(
                    "ipvs.stopped",
                    {{"services_removed", removed}, {"failed", failed}, {"on_shutdown", "remove"}});
            }
            if (answer->daemons) {
                log_daemons(log_, *answer->daemons);
            }
        });
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
