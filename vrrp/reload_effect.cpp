#include "vrrp/reload_effect.hpp"

namespace vigil::vrrp {

namespace {

// A reload may change these on a running instance without restarting it (so a master stays
// master): the configured priority, unless it becomes or stops being the owner's 255, which
// decides how the election starts; and the notify programs.
bool changes_in_place(const instance_spec& wanted, const instance_spec& current) {
    auto patched = current;
    patched.election.priority = wanted.election.priority;
    patched.notify = wanted.notify;
    return same_settings(wanted, patched) && wanted.election.priority != 255 &&
           current.election.priority != 255;
}

}  // namespace

std::string_view to_string(reload_effect effect) {
    switch (effect) {
        case reload_effect::unchanged:
            return "unchanged";
        case reload_effect::in_place:
            return "in_place";
        case reload_effect::restart:
            return "restart";
    }
    return "restart";
}

reload_effect classify_reload(const instance_spec& wanted, const instance_spec& current) {
    if (same_settings(wanted, current)) {
        return reload_effect::unchanged;
    }
    return changes_in_place(wanted, current) ? reload_effect::in_place : reload_effect::restart;
}

}  // namespace vigil::vrrp
