#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/reconciler.hpp"

namespace vigil {

// The IPVS library knows nothing of the config file; this is where one becomes the other.
std::vector<ipvs::virtual_server_spec> virtual_server_specs(const config::configuration& config);
ipvs::reconciler_spec reconciler_spec(const config::configuration& config);
// The VRRP instance whose state drives the connection sync daemon, if one is configured.
std::optional<std::string> sync_daemon_instance(const config::configuration& config);

}  // namespace vigil
