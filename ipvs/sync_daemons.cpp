#include "ipvs/sync_daemons.hpp"

namespace vigil::ipvs {

std::string_view to_string(sync_mode mode) {
    switch (mode) {
        case sync_mode::none:
            return "none";
        case sync_mode::master:
            return "master";
        case sync_mode::backup:
            return "backup";
    }
    return "?";
}

namespace {
// Zero / empty settings mean "the kernel's default", which a dump reports as a concrete value.
bool matches(const sync_daemon& want, const sync_daemon& have) {
    return want.interface == have.interface && want.sync_id == have.sync_id &&
           (want.max_len == 0 || want.max_len == have.max_len) &&
           (!want.group || want.group == have.group) &&
           (want.port == 0 || want.port == have.port) && (want.ttl == 0 || want.ttl == have.ttl);
}
}  // namespace

sync_daemon_plan plan_sync_daemons(const std::optional<sync_daemon>& settings, sync_mode mode,
                                   std::span<const sync_daemon> running) {
    sync_daemon_plan plan;
    if (!settings) {
        return plan;
    }
    std::optional<sync_daemon> wanted;
    if (mode != sync_mode::none) {
        wanted = *settings;
        wanted->role = mode == sync_mode::master ? sync_role::master : sync_role::backup;
    }
    bool wanted_running = false;
    for (const auto& d : running) {
        if (wanted && d.role == wanted->role && matches(*wanted, d)) {
            wanted_running = true;
        } else {
            plan.stop.push_back(d.role);
        }
    }
    if (wanted && !wanted_running) {
        plan.start.push_back(*wanted);
    }
    return plan;
}

}  // namespace vigil::ipvs
