#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/child_process.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "vrrp/file_watcher.hpp"
#include "vrrp/link_state_source.hpp"
#include "vrrp/tracker_spec.hpp"
#include "vrrp/tracking.hpp"

namespace vigil::vrrp {

// What one instance tracks, observed: interface links (told by the caller), scripts run every
// interval on the clock seam, files re-read when the watcher says they changed. Every change
// is logged and reported through `changed`; the priority arithmetic is effective_priority's.
class trackers {
  public:
    struct specs {
        std::vector<interface_tracker_spec> interfaces;
        std::vector<script_tracker_spec> scripts;
        std::vector<file_tracker_spec> files;
    };
    trackers(std::string instance, specs spec, clock_source& clock, child_process_runner& runner,
             event_log& log, file_watcher* files, std::function<void()> changed);
    ~trackers();
    trackers(const trackers&) = delete;
    trackers& operator=(const trackers&) = delete;

    // Reads the initial states (interfaces from `links`, files from disk); scripts start failed.
    void start(link_state_source& links);
    // Runs every script now and then every interval.
    void start_scripts();
    void stop();
    // A tracked interface's link; true when it changed a tracker.
    bool on_link(const std::string& name, bool up);
    const std::vector<tracker_state>& states() const { return states_; }

  private:
    struct script_run;
    void run_script(std::size_t index);
    void reread_file(std::size_t index);
    void report(const tracker_state& t, const std::string& detail);

    std::string instance_;
    specs spec_;
    clock_source& clock_;
    child_process_runner& runner_;
    event_log& log_;
    file_watcher* files_;
    std::function<void()> changed_;
    std::vector<tracker_state> states_;  // interfaces, then scripts, then files
    std::vector<std::unique_ptr<script_run>> scripts_;
    bool stopped_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::vrrp
