#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checkers/check_spec.hpp"
#include "config/model.hpp"
#include "ipvs/desired_state.hpp"
#include "ipvs/model.hpp"
#include "ipvs/operation.hpp"
#include "vrrp/instance.hpp"

namespace vigil {

// What is in force when `vigil plan` asks: copied on the loop, then read by the worker that
// parses the new file, so the plan never holds up an advert.
struct running_state {
    // The reconciler's desired table with its specs, health and quorum memory; nothing while
    // IPVS is not programmed.
    std::optional<ipvs::desired_state> ipvs;
    std::set<ipvs::service_key> owned;
    // The reconciler's view of the kernel, when it has dumped it once.
    std::optional<ipvs::table> kernel;
    std::vector<vrrp::instance_spec> vrrp;
    std::vector<vrrp::instance_status> vrrp_status;
    std::vector<checkers::checked_server_spec> checks;
    std::size_t virtual_servers = 0;
    // The small parts of the config in force that a plan compares as they are.
    config::global_settings global;
    std::vector<config::vrrp_sync_group> sync_groups;
    std::vector<config::alert> alerts;
};

struct instance_change {
    std::string name;
    // "added", "removed", "in_place" (priority or notify: no restart) or "restart".
    std::string change;
    std::string state;  // its state now ("" when added)
    std::optional<unsigned> priority_from;
    std::optional<unsigned> priority_to;
    // A MASTER that is removed or restarted resigns (priority 0) and a backup takes over.
    bool master_resigns = false;
};

struct reload_plan {
    std::vector<ipvs::operation> ipvs_operations;
    // Operations the reconciler still owes the kernel whatever the reload (drift, retries).
    std::size_t ipvs_pending = 0;
    std::vector<instance_change> vrrp;
    std::vector<std::string> checks_added;
    std::vector<std::string> checks_removed;
    std::vector<std::string> checks_changed;
    // Global settings, sync groups and alert hooks that change, one line each:
    // "log.level: info -> debug", "sync group G: added".
    std::vector<std::string> settings;
    // Why `vigil reload` would refuse it without --allow-empty.
    std::vector<std::string> refusals;

    bool changes_something() const {
        return !ipvs_operations.empty() || !vrrp.empty() || !checks_added.empty() ||
               !checks_removed.empty() || !checks_changed.empty() || !settings.empty();
    }
};

// What reloading `next` would do to `now`, by the same rules the reload applies (the desired
// table and diff of ipvs/, vrrp::classify_reload): pure, nothing is applied.
reload_plan plan_reload(const running_state& now, const config::configuration& next);

// The control reply: {"valid": true, "changes": bool, "ipvs": {...}, "vrrp": [...],
// "checks": {...}, "settings": [...], "refusals": [...]}.
boost::json::object to_json(const reload_plan& plan);

// The reply as text for `vigil plan` without --json.
std::string render_plan_text(const boost::json::object& reply);

}  // namespace vigil
