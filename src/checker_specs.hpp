#pragma once

#include <vector>

#include "checkers/check_spec.hpp"
#include "config/model.hpp"

namespace vigil {

// The checkers library knows nothing of the config file; this is where one becomes the other.
// Real servers without a check are left out: they count as up.
std::vector<checkers::checked_server_spec> checked_real_servers(
    const config::configuration& config);

}  // namespace vigil
