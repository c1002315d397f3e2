#pragma once

#include <vector>

#include "config/model.hpp"
#include "vrrp/instance_set.hpp"

namespace vigil {

// The VRRP library knows nothing of the config file; this is where one becomes the other.
std::vector<vrrp::instance_spec> instance_specs(const config::configuration& config);
std::vector<vrrp::sync_group_spec> sync_group_specs(const config::configuration& config);

}  // namespace vigil
