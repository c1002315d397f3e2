#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "ipvs/model.hpp"
#include "ipvs/names.hpp"

namespace vigil::ipvs {

// Service settings from the operator's terms. Persistence sets the persistent flag; a netmask
// without persistence is kept at the host prefix, as ipvsadm does, so dumps compare equal.
struct service_options {
    scheduler sched = scheduler::wlc;
    std::uint32_t persistence_timeout = 0;        // seconds; 0 = off
    std::optional<unsigned> persistence_netmask;  // prefix length
    bool one_packet = false;                      // UDP: schedule every datagram on its own
    bool sched_flag_1 = false;  // sh/mh: fallback to another server when the chosen is unusable
    bool sched_flag_2 = false;  // sh/mh: hash the source port too
    bool sched_flag_3 = false;
};
service make_service(const service_key& key, const service_options& options);

// The library's own view of one configured virtual server; src/ fills it from the config.
struct real_server_spec {
    std::string name;  // "web/192.0.2.10:80": the key into the health map
    ip_endpoint address;
    std::uint32_t weight = 1;
    std::uint32_t upper_threshold = 0;  // 0 = unlimited
    std::uint32_t lower_threshold = 0;
    // Overrides the virtual server's method for this real server alone, as keepalived's
    // per-real-server lvs_method does.
    std::optional<forward_method> forward = std::nullopt;
};

enum class failure_policy { remove, inhibit };

struct virtual_server_spec {
    std::string name;
    service settings;  // key, scheduler, flags, persistence timeout and netmask
    forwarding method = forwarding::nat;
    std::uint64_t quorum = 1;
    std::uint64_t hysteresis = 0;
    std::optional<ip_endpoint> sorry_server;
    failure_policy on_failure = failure_policy::remove;
    std::vector<real_server_spec> real_servers;
};

// What the health checks say about one real server. `weight` is a dynamic weight a check
// reported; without one the configured weight applies.
struct real_server_health {
    bool up = true;
    std::optional<std::uint32_t> weight;
};
// Keyed by real_server_spec::name. A real server missing from the map has no check and counts as
// up, as keepalived treats a real server without a checker.
using health_map = std::map<std::string, real_server_health, std::less<>>;

// The quorum rule as a pure function: up while the healthy weight is at least quorum + hysteresis,
// down once it falls below quorum - hysteresis; in between the previous state holds. With no
// previous state (first evaluation) the midpoint decides: up iff healthy >= quorum.
bool next_quorum_state(std::optional<bool> previous, std::uint64_t healthy_weight,
                       std::uint64_t quorum, std::uint64_t hysteresis);

// The rules one virtual server's entry follows, shared by the whole-table builder below and the
// incremental desired_state:
// - the weight a real server adds to the healthy weight (its dynamic or configured weight while
//   up, nothing while down);
std::uint64_t healthy_weight_of(const real_server_spec& rs, const real_server_health& health);
// - the destination it stands for: its weight while up; while down nothing (on_failure = remove)
//   or weight 0 (inhibit: established connections finish, no new ones arrive);
std::optional<destination> destination_for(const virtual_server_spec& vs,
                                           const real_server_spec& rs,
                                           const real_server_health& health);
// - and the one destination that replaces them all while the quorum is lost, if configured.
destination sorry_destination(const virtual_server_spec& vs);

struct quorum_event {
    std::string virtual_server;
    bool up = false;  // false: virtual_server.quorum_lost, true: virtual_server.quorum_regained
    std::uint64_t healthy_weight = 0;
    std::uint64_t quorum = 0;
    std::uint64_t hysteresis = 0;
    bool sorry_server_active = false;
};

struct virtual_server_state {
    bool quorum_up = true;
    std::uint64_t healthy_weight = 0;
    bool sorry_server_active = false;
};

struct desired_result {
    table desired;
    std::vector<quorum_event> events;  // quorum transitions this build found, in config order
    std::map<std::string, virtual_server_state, std::less<>> virtual_servers;
};

// Builds the desired table from config + health. Pure apart from the quorum memory it keeps
// between builds (each virtual server's last quorum state, by name), which the hysteresis needs.
// A virtual server whose quorum is lost for the first time reports quorum_lost, including on the
// first build, so an operator learns a service starts without enough real servers.
class desired_builder {
  public:
    // Quorum state is kept for the virtual servers of the last build only: one that left the
    // config starts afresh if it returns.
    desired_result build(std::span<const virtual_server_spec> servers, const health_map& health);

  private:
    std::map<std::string, bool, std::less<>> quorum_;
};

}  // namespace vigil::ipvs
