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
    }
    watch_files();
}

void trackers::watch_files() {
    if (!files_) {
        return;
    }
    auto first = spec_.interfaces.size() + spec_.scripts.size();
    for (std::size_t i = 0; i < spec_.files.size(); ++i) {
        auto index = first + i;
        files_->watch(this, spec_.files[i].path, [this, index] { reread_file(index); });
    }
}

void trackers::update(specs wanted, link_state_source& links) {
    // Script runs in flight report to the old layout: their results are let go, and every
    // script runs again below.
    *alive_ = false;
    alive_ = std::make_shared<bool>(true);
    for (auto& run : scripts_) {
        run->timer->cancel();
    }
    if (files_) {
        files_->unwatch(this);
    }
    auto old_spec = std::move(spec_);
    auto old_states = std::move(states_);
    auto old_scripts = std::move(scripts_);
    spec_ = std::move(wanted);
    states_.clear();
    scripts_.clear();
    for (const auto& t : spec_.interfaces) {
        // An interface's state is read afresh: the link says what it is now.
        const auto* info = links.find(t.name);
        states_.push_back(
            tracker_state{t.name, tracker_kind::interface, t.weight, info && info->link_up, 0});
    }
    for (const auto& t : spec_.scripts) {
        auto same = std::find(old_spec.scripts.begin(), old_spec.scripts.end(), t);
        if (same == old_spec.scripts.end()) {
            states_.push_back(tracker_state{t.name, tracker_kind::script, t.weight, false, 0});
            scripts_.push_back(std::make_unique<script_run>(t.rise, t.fall, clock_));
            continue;
        }
        auto index = static_cast<std::size_t>(same - old_spec.scripts.begin());
        states_.push_back(old_states[old_spec.interfaces.size() + index]);
        scripts_.push_back(std::move(old_scripts[index]));
        // A script listed twice keeps its state once; the second starts afresh.
        if (!scripts_.back()) {
            states_.back().healthy = false;
            scripts_.back() = std::make_unique<script_run>(t.rise, t.fall, clock_);
        }
    }
    for (const auto& t : spec_.files) {
        states_.push_back(
            tracker_state{t.path, tracker_kind::file, t.weight, true, read_tracked_file(t.path)});
    }
    watch_files();
    if (!stopped_) {
        start_scripts();
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
