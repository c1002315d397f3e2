#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <set>
#include <span>
#include <string>

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

}  // namespace vigil::ipvs
