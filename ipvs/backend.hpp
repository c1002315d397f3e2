#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/address.hpp"
#include "ipvs/model.hpp"
#include "ipvs/operation.hpp"

namespace vigil::ipvs {

// IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP: the two connection-sync daemons a kernel can run.
enum class sync_role : std::uint32_t { master = 1, backup = 2 };
std::string_view to_string(sync_role role);

// One connection-sync daemon (IPVS_DAEMON_ATTR_*). Zero / empty fields mean "the kernel's
// default" when starting (port 8848, TTL 1, group 224.0.0.81 or ff02::8148, maxlen from the MTU);
// a dump reports the values in force.
struct sync_daemon {
    sync_role role = sync_role::master;
    std::string interface;
    std::uint32_t sync_id = 0;  // 0–255: which director pair this sync stream belongs to
    std::uint16_t max_len = 0;
    std::optional<ip_address> group;
    std::uint16_t port = 0;
    std::uint8_t ttl = 0;
};

// The seam between the reconciler and the kernel: netlink in production, memory in unit tests.
// Every answer is the kernel's: errno values in std::generic_category (0 = done).
class backend {
  public:
    virtual ~backend() = default;
    virtual std::string_view name() const = 0;

    // The whole table: every service and its destinations, with counters.
    virtual boost::system::result<table> dump() = 0;
    // Applies each operation in order, independently (a failure does not stop the rest, as the
    // kernel handles each command on its own); returns one answer per operation.
    virtual std::vector<std::error_code> apply(std::span<const operation> ops) = 0;

    virtual boost::system::result<std::vector<sync_daemon>> daemons() = 0;
    virtual std::error_code start_daemon(const sync_daemon& daemon) = 0;
    virtual std::error_code stop_daemon(sync_role role) = 0;
};

}  // namespace vigil::ipvs
