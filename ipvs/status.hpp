#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/json_writer.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/model.hpp"

namespace vigil::ipvs {

// The kernel's table in the layout of `ipvsadm -Ln` (without its two title lines), one service
// line and one line per destination: "TCP  192.0.2.1:80 wrr persistent 300" /
// "  -> 10.0.0.2:80 Masq 3 0 0". With `thresholds` the destination lines carry the upper and
// lower thresholds instead of the weight, as `ipvsadm -Ln --thresholds` does. Columns are single
// spaces: compare after collapsing whitespace.
std::string format_ipvsadm(const table& kernel, bool thresholds = false);

// What `vigil status` shows for IPVS: the kernel's view (every service, vigil's or not, with
// counters) beside what vigil wants and what the health checks say. For each service:
//   service, owned, virtual_server (name or null), scheduler, flags, persistence_timeout,
//   persistence_netmask, quorum_up, healthy_weight, sorry_server_active, in_sync, stats,
//   destinations[] = {address, real_server (name or null), sorry_server (bool), forwarding,
//   weight, desired_weight
//   (null when vigil does not want it), health ("up", "down", "unchecked" or null),
//   upper_threshold, lower_threshold, active_connections, inactive_connections,
//   persistent_connections, stats}
// and `missing`: services and destinations vigil wants that the kernel does not have (yet).
struct status_inputs {
    const table& kernel;
    const table& desired;
    const std::set<service_key>& owned;
    std::span<const virtual_server_spec> servers;
    const health_map& health;
    const desired_result* build = nullptr;  // quorum state per virtual server, when known
    // The same from the reconciler's desired_state (used when `build` is null).
    const std::map<std::string, virtual_server_state, std::less<>>* virtual_servers = nullptr;
};
boost::json::value status_json(const status_inputs& in);

// What the reconciler's part of `vigil status` reads, copied out of it: taking one costs the loop
// a copy of the tables (a few ms at 10,000 destinations), and rendering it (ten times that) can
// then run on another thread while the loop keeps timing adverts.
struct status_snapshot {
    std::string backend;
    table kernel;
    table desired;
    std::set<service_key> owned;
    std::vector<virtual_server_spec> servers;
    health_map health;
    std::map<std::string, virtual_server_state, std::less<>> virtual_servers;
    std::optional<double> kernel_view_age_ms;  // none before the first dump
    std::uint64_t kernel_view_operations = 0;
};
// {backend, services, missing, kernel_view_age_ms, kernel_view_operations}: the "ipvs" section,
// written as text (what `vigil status` sends) or parsed into a document.
void write_status_json(json_writer& w, const status_snapshot& snapshot);
boost::json::value status_json(const status_snapshot& snapshot);

}  // namespace vigil::ipvs
