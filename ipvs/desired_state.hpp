#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipvs/desired.hpp"
#include "ipvs/model.hpp"

namespace vigil::ipvs {

// What one change to the desired table touched, so the reconciler can diff only that.
struct desired_change {
    // Services whose whole entry changed: added, removed, edited, or a quorum transition (the
    // sorry server replacing the real servers or the other way round).
    std::set<service_key> services;
    // Single destinations that changed inside a service that otherwise did not.
    std::set<std::pair<service_key, ip_endpoint>> destinations;
    // Quorum transitions, in config order.
    std::vector<quorum_event> events;

    bool empty() const { return services.empty() && destinations.empty(); }
};

// The table vigil wants, kept up to date one change at a time: a health result recomputes its
// own real server's destination and its virtual server's healthy weight and quorum, nothing else;
// a config recomputes only the virtual servers whose spec changed. The rules are desired.hpp's
// (same as desired_builder, which builds the whole table at once); this is a pure core apart from
// the state it keeps.
class desired_state {
  public:
    // Config (start and reload). Unchanged virtual servers keep their quorum state and entry;
    // one whose spec changed keeps its quorum memory (by name) and is recomputed; health of real
    // servers no longer configured is forgotten.
    desired_change set_specs(std::vector<virtual_server_spec> specs);
    // One real server's health (by real_server_spec::name). Health for a name not configured
    // (yet) is kept for when it is.
    desired_change set_health(std::string_view real_server, const real_server_health& health);

    const table& desired() const { return desired_; }
    const std::vector<virtual_server_spec>& specs() const { return specs_; }
    const health_map& health() const { return health_; }
    // Quorum state per virtual server, by name.
    std::map<std::string, virtual_server_state, std::less<>> virtual_servers() const;
    // Whether set_specs was ever called: before it the table is empty for want of a config, not
    // because vigil wants nothing.
    bool configured() const { return configured_; }

  private:
    struct server_state {
        bool quorum_up = true;
        std::uint64_t healthy_weight = 0;
        bool sorry_server_active = false;
    };
    struct real_server_ref {
        std::size_t server;  // index into specs_
        std::size_t index;   // into its real_servers
    };
    real_server_health health_of(const std::string& name) const;
    // Recomputes one virtual server's entry from scratch; returns its quorum event, if any.
    std::optional<quorum_event> recompute(std::size_t server, std::optional<bool> previous);
    void index();

    std::vector<virtual_server_spec> specs_;
    std::vector<server_state> states_;  // parallel to specs_
    std::map<std::string, std::size_t, std::less<>> by_virtual_server_;
    std::map<std::string, real_server_ref, std::less<>> by_real_server_;
    health_map health_;
    table desired_;
    bool configured_ = false;
};

// Whether two specs program the same thing (every field the table depends on).
bool same_spec(const virtual_server_spec& a, const virtual_server_spec& b);

}  // namespace vigil::ipvs
