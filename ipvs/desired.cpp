#include "ipvs/desired.hpp"

#include <set>

namespace vigil::ipvs {

service make_service(const service_key& key, const service_options& options) {
    service s;
    s.key = key;
    s.scheduler = std::string(to_string(options.sched));
    s.timeout = options.persistence_timeout;
    s.netmask = host_prefix(key.family);
    if (options.persistence_timeout > 0) {
        s.flags |= service_flags::persistent;
        if (options.persistence_netmask) {
            s.netmask = *options.persistence_netmask;
        }
    }
    if (options.one_packet) {
        s.flags |= service_flags::one_packet;
    }
    if (options.sched_flag_1) {
        s.flags |= service_flags::sched_flag_1;
    }
    if (options.sched_flag_2) {
        s.flags |= service_flags::sched_flag_2;
    }
    if (options.sched_flag_3) {
        s.flags |= service_flags::sched_flag_3;
    }
    return s;
}

bool next_quorum_state(std::optional<bool> previous, std::uint64_t healthy_weight,
                       std::uint64_t quorum, std::uint64_t hysteresis) {
    if (!previous) {
        return healthy_weight >= quorum;
    }
    if (*previous) {
        // Down below quorum - hysteresis; config keeps hysteresis <= quorum, clamp anyway.
        std::uint64_t floor = hysteresis > quorum ? 0 : quorum - hysteresis;
        return healthy_weight >= floor;
    }
    return healthy_weight >= quorum + hysteresis;
}

std::uint64_t healthy_weight_of(const real_server_spec& rs, const real_server_health& health) {
    return health.up ? health.weight.value_or(rs.weight) : 0;
}

std::optional<destination> destination_for(const virtual_server_spec& vs,
                                           const real_server_spec& rs,
                                           const real_server_health& health) {
    if (!health.up && vs.on_failure != failure_policy::inhibit) {
        return std::nullopt;
    }
    destination d;
    d.address = rs.address;
    d.forward = rs.forward.value_or(to_forward_method(vs.method));
    d.upper_threshold = rs.upper_threshold;
    d.lower_threshold = rs.lower_threshold;
    d.weight = health.up ? health.weight.value_or(rs.weight) : 0;
    return d;
}

destination sorry_destination(const virtual_server_spec& vs) {
    destination d;
    d.address = vs.sorry_server.value_or(ip_endpoint{});
    d.forward = to_forward_method(vs.method);
    d.weight = 1;
    return d;
}

desired_result desired_builder::build(std::span<const virtual_server_spec> servers,
                                      const health_map& health) {
    desired_result result;
    std::set<std::string, std::less<>> seen;
    for (const auto& vs : servers) {
        seen.insert(vs.name);
        std::map<ip_endpoint, destination> dests;
        std::uint64_t healthy_weight = 0;
        for (const auto& rs : vs.real_servers) {
            real_server_health h;
            if (auto it = health.find(rs.name); it != health.end()) {
                h = it->second;
            }
            healthy_weight += healthy_weight_of(rs, h);
            if (auto d = destination_for(vs, rs, h)) {
                dests[rs.address] = *d;
            }
        }

        std::optional<bool> previous;
        if (auto it = quorum_.find(vs.name); it != quorum_.end()) {
            previous = it->second;
        }
        bool up = next_quorum_state(previous, healthy_weight, vs.quorum, vs.hysteresis);
        quorum_[vs.name] = up;

        bool sorry = !up && vs.sorry_server.has_value();
        if (sorry) {
            // The sorry server replaces the real servers while the quorum is lost.
            dests.clear();
            auto d = sorry_destination(vs);
            dests[d.address] = d;
        }
        if ((!previous && !up) || (previous && *previous != up)) {
            result.events.push_back({vs.name, up, healthy_weight, vs.quorum, vs.hysteresis, sorry});
        }
        result.virtual_servers[vs.name] = {up, healthy_weight, sorry};

        auto& entry = result.desired[vs.settings.key];
        entry.settings = vs.settings;
        entry.settings.stats = {};
        entry.destinations = std::move(dests);
    }
    for (auto it = quorum_.begin(); it != quorum_.end();) {
        it = seen.contains(it->first) ? std::next(it) : quorum_.erase(it);
    }
    return result;
}

}  // namespace vigil::ipvs
