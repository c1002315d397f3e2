#include "vrrp/reload_effect.hpp"

namespace vigil::vrrp {

namespace {

// A reload may change these on a running instance without restarting it (so a master stays
// master): the configured priority, unless it becomes or stops being the owner's 255, which
// decides how the election starts; the notify programs; the VIPs (of the same address family,
// which decides the socket); the advert interval; preempt and preempt_delay; the trackers.
// What names the virtual router on the wire or where it speaks (interface, VRID, version,
// authentication, unicast peers and source, the virtual MAC) restarts it.
bool changes_in_place(const instance_spec& wanted, const instance_spec& current) {
    if (wanted.vips.empty() || wanted.family() != current.family()) {
        return false;
    }
    auto patched = current;
    patched.election.priority = wanted.election.priority;
    patched.notify = wanted.notify;
    patched.vips = wanted.vips;
    patched.election.virtual_addresses = wanted.election.virtual_addresses;
    patched.election.advert_interval = wanted.election.advert_interval;
    patched.election.preempt = wanted.election.preempt;
    patched.election.preempt_delay = wanted.election.preempt_delay;
    patched.track_interfaces = wanted.track_interfaces;
    patched.track_scripts = wanted.track_scripts;
    patched.track_files = wanted.track_files;
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
