#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

// The systemd notification protocol (sd_notify(3)): datagrams to the unix socket named by
// $NOTIFY_SOCKET. Without that variable every call does nothing, so the daemon runs the same
// under any supervisor.
class service_notifier {
  public:
    // Reads NOTIFY_SOCKET and WATCHDOG_USEC (honouring WATCHDOG_PID) from the environment.
    static service_notifier from_environment();

    // How often to ping: half the watchdog timeout systemd set, or nothing.
    std::optional<std::chrono::microseconds> watchdog_period() const { return watchdog_period_; }

    // "READY=1", "RELOADING=1", "STOPPING=1", "WATCHDOG=1", "STATUS=..."; lines may be combined.
    void notify(std::string_view message) const;

  private:
    std::string socket_path_;  // '@' first: the abstract namespace
    std::optional<std::chrono::microseconds> watchdog_period_;
};

}  // namespace vigil
