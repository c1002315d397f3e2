#pragma once

#include <vector>

#include "config/model.hpp"
#include "vrrp/node.hpp"

namespace vigil {

// The VRRP library knows nothing of the config file; this is where one becomes the other.
std::vector<vrrp::router_config> router_configs(const config::configuration& config);
std::vector<vrrp::sync_group_config> sync_group_configs(const config::configuration& config);

}  // namespace vigil
