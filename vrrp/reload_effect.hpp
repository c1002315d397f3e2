#pragma once

#include <string_view>

#include "vrrp/instance.hpp"

namespace vigil::vrrp {

// What a reload does to one running instance whose name the new config still holds. The one rule
// both instance_set::reconfigure (which acts on it) and `vigil plan` (which only reports it) use.
enum class reload_effect {
    unchanged,  // same settings: keeps its state, timers and VIPs
    in_place,   // updated without a restart (a master stays master)
    restart,    // resigns and starts again as BACKUP
};
std::string_view to_string(reload_effect effect);

reload_effect classify_reload(const instance_spec& wanted, const instance_spec& current);

}  // namespace vigil::vrrp
