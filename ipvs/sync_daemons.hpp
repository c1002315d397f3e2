#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "ipvs/backend.hpp"

namespace vigil::ipvs {

// Which connection-sync daemon this director should run, following its VRRP instance the way
// keepalived's lvs_sync_daemon does: the master daemon while MASTER (it sends connection state),
// the backup daemon otherwise (BACKUP and FAULT: it receives, so a takeover keeps established
// connections), none when VRRP is not running.
enum class sync_mode { none, master, backup };
std::string_view to_string(sync_mode mode);

struct sync_daemon_plan {
    std::vector<sync_role> stop;
    std::vector<sync_daemon> start;
    bool empty() const { return stop.empty() && start.empty(); }
};

// `settings` (role ignored) configures the daemon; without settings vigil leaves every daemon
// alone. A running daemon with other settings than wanted is stopped and started again.
sync_daemon_plan plan_sync_daemons(const std::optional<sync_daemon>& settings, sync_mode mode,
                                   std::span<const sync_daemon> running);

}  // namespace vigil::ipvs
