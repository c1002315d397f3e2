#include "vrrp/trackers.hpp"

#include <algorithm>
#include <fstream>

namespace vigil::vrrp {

namespace {

long long read_tracked_file(const std::string& path) {
    std::ifstream in(path);
    long long value = 0;
    if (in >> value) {
        return value;
    }
    return 0;  // missing or not a number: no effect
}

}  // namespace

struct trackers::script_run {
    script_run(unsigned rise, unsigned fall, clock_source& clock)
        : counter(rise, fall), timer(clock.make_timer()) {}
    script_counter counter;
    std::unique_ptr<clock_timer> timer;
};

trackers::trackers(std::string instance, specs spec, clock_source& clock,
                   child_process_runner& runner, event_log& log, file_watcher* files,
                   std::function<void()> changed)
    : instance_(std::move(instance)),
      spec_(std::move(spec)),
      clock_(clock),
      runner_(runner),
      log_(log),
      files_(files),
      changed_(std::move(changed)) {}

trackers::~trackers() {
    *alive_ = false;
    if (files_) {
        files_->unwatch(this);
    }
}

void trackers::start(link_state_source& links) {
    states_.clear();
    scripts_.clear();
    for (const auto& t : spec_.interfaces) {
        const auto* info = links.find(t.name);
        states_.push_back(
            tracker_state{t.name, tracker_kind::interface, t.weight, info && info->link_up, 0});
    }
    for (const auto& t : spec_.scripts) {
        // Failed until proven: a node never claims a priority it has not earned.
        states_.push_back(tracker_state{t.name, tracker_kind::script, t.weight, false, 0});
        scripts_.push_back(std::make_unique<script_run>(t.rise, t.fall, clock_));
    }
    for (const auto& t : spec_.files) {
        states_.push_back(
            tracker_state{t.path, tracker_kind::file, t.weight, true, read_tracked_file(t.path)});
        if (files_) {
            auto index = states_.size() - 1;
            files_->watch(this, t.path, [this, index] { reread_file(index); });
        }
    }
}

void trackers::start_scripts() {
    for (std::size_t i = 0; i < scripts_.size(); ++i) {
        run_script(i);
    }
}

void trackers::stop() {
    stopped_ = true;
    for (auto& run : scripts_) {
        run->timer->cancel();
    }
}

bool trackers::on_link(const std::string& name, bool up) {
    bool changed = false;
    for (auto& t : states_) {
        if (t.kind == tracker_kind::interface && t.name == name && t.healthy != up) {
            t.healthy = up;
            changed = true;
            report(t, up ? "link up" : "link down");
        }
    }
    return changed;
}

void trackers::reread_file(std::size_t index) {
    auto& t = states_[index];
    auto value = read_tracked_file(t.name);
    if (value != t.value) {
        t.value = value;
        report(t, "value " + std::to_string(value));
        changed_();
    }
}

void trackers::run_script(std::size_t index) {
    const auto& t = spec_.scripts[index];
    child_spec spec;
    spec.argv = t.command;
    spec.run_as = t.user;
    spec.timeout = t.timeout;
    spec.environment = {{"VIGIL_INSTANCE", instance_}, {"VIGIL_TRACKER", t.name}};
    auto started = clock_.now();
    std::weak_ptr<bool> alive = alive_;
    runner_.start(spec, [this, alive, index, started](child_result result) {
        if (auto a = alive.lock(); !a || !*a) {
            return;
        }
        auto& tracker = states_[spec_.interfaces.size() + index];
        auto& run = *scripts_[index];
        if (auto changed = run.counter.record(result.succeeded())) {
            tracker.healthy = *changed;
            report(tracker, describe(result));
            changed_();
        }
        if (stopped_) {
            return;
        }
        // The next run is due one interval after this one started, never sooner than now.
        run.timer->arm(std::max(started + spec_.scripts[index].interval, clock_.now()),
                       [this, index] { run_script(index); });
    });
}

void trackers::report(const tracker_state& t, const std::string& detail) {
    log_.info("vrrp.tracker_changed", {{"instance", instance_},
                                       {"tracker", t.name},
                                       {"kind", std::string(to_string(t.kind))},
                                       {"healthy", t.healthy},
                                       {"value", t.value},
                                       {"weight", t.weight},
                                       {"detail", detail}});
}

}  // namespace vigil::vrrp
