#include "ipvs/status.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <tuple>
#include <vector>

namespace vigil::ipvs {

namespace {

std::string forward_name(forward_method m) {
    switch (m) {
        case forward_method::masq:
            return "Masq";
        case forward_method::local:
            return "Local";
        case forward_method::tunnel:
            return "Tunnel";
        case forward_method::route:
            return "Route";
        case forward_method::bypass:
            return "Bypass";
    }
    return "Unknown";
}

std::string protocol_name(protocol p) {
    switch (p) {
        case protocol::tcp:
            return "TCP";
        case protocol::udp:
            return "UDP";
        case protocol::sctp:
            return "SCTP";
    }
    return "?";
}

std::string v4_mask_text(unsigned prefix) {
    std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - std::min(prefix, 32U));
    return boost::asio::ip::address_v4(mask).to_string();
}

boost::json::object counters_json(const counters& c) {
    return {{"connections", c.connections}, {"in_packets", c.in_packets},
            {"out_packets", c.out_packets}, {"in_bytes", c.in_bytes},
            {"out_bytes", c.out_bytes},     {"cps", c.cps},
            {"in_pps", c.in_pps},           {"out_pps", c.out_pps},
            {"in_bps", c.in_bps},           {"out_bps", c.out_bps}};
}

boost::json::array flag_names(const service& s) {
    boost::json::array names;
    if (s.flags & service_flags::persistent) {
        names.emplace_back("persistent");
    }
    if (s.flags & service_flags::one_packet) {
        names.emplace_back("one_packet");
    }
    if (s.flags & service_flags::sched_flag_1) {
        names.emplace_back("flag-1");
    }
    if (s.flags & service_flags::sched_flag_2) {
        names.emplace_back("flag-2");
    }
    if (s.flags & service_flags::sched_flag_3) {
        names.emplace_back("flag-3");
    }
    return names;
}

// ipvsadm names the scheduler flags after the schedulers that read them.
std::string sched_flag_names(const service& s) {
    bool sh = s.scheduler == "sh";
    bool mh = s.scheduler == "mh";
    std::string names;
    auto add = [&](std::uint32_t bit, const char* generic, const char* sh_name,
                   const char* mh_name) {
        if (!(s.flags & bit)) {
            return;
        }
        names += names.empty() ? "" : ",";
        names += sh && sh_name ? sh_name : mh && mh_name ? mh_name : generic;
    };
    add(service_flags::sched_flag_1, "flag-1", "sh-fallback", "mh-fallback");
    add(service_flags::sched_flag_2, "flag-2", "sh-port", "mh-port");
    add(service_flags::sched_flag_3, "flag-3", nullptr, nullptr);
    return names;
}

}  // namespace

std::string format_ipvsadm(const table& kernel, bool thresholds) {
    // ipvsadm's order (libipvs ipvs_cmp_services): fwmark (0 first), family, protocol, address,
    // port; the table itself orders by family first.
    std::vector<const table::value_type*> order;
    for (const auto& item : kernel) {
        order.push_back(&item);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
        const auto& x = a->first;
        const auto& y = b->first;
        return std::tuple(x.fwmark, x.family, x.proto, x.address, x.port) <
               std::tuple(y.fwmark, y.family, y.proto, y.address, y.port);
    });
    std::string out;
    for (const auto* item : order) {
        const auto& key = item->first;
        const auto& entry = item->second;
        const auto& s = entry.settings;
        if (key.is_fwmark()) {
            out += "FWM " + std::to_string(key.fwmark);
            if (key.family == address_family::ipv6) {
                out += " IPv6";
            }
        } else {
            out += protocol_name(key.proto) + " " + to_string(ip_endpoint{key.address, key.port});
        }
        out += " " + s.scheduler;
        if (auto names = sched_flag_names(s); !names.empty()) {
            out += " (" + names + ")";
        }
        if (s.flags & service_flags::persistent) {
            out += " persistent " + std::to_string(s.timeout);
            if (key.family == address_family::ipv4 && s.netmask != 32) {
                out += " mask " + v4_mask_text(s.netmask);
            } else if (key.family == address_family::ipv6 && s.netmask != 128) {
                out += " mask " + std::to_string(s.netmask);
            }
        }
        if (s.flags & service_flags::one_packet) {
            out += " ops";
        }
        out += '\n';
        for (const auto& [address, d] : entry.destinations) {
            out += "  -> " + to_string(address) + " ";
            if (thresholds) {
                out += std::to_string(d.upper_threshold) + " " + std::to_string(d.lower_threshold);
            } else {
                out += forward_name(d.forward) + " " + std::to_string(d.weight);
            }
            out += " " + std::to_string(d.active_connections) + " " +
                   std::to_string(d.inactive_connections) + '\n';
        }
    }
    return out;
}

boost::json::value status_json(const status_inputs& in) {
    // Which virtual server and real server each kernel entry belongs to.
    std::map<service_key, const virtual_server_spec*> by_key;
    for (const auto& vs : in.servers) {
        by_key[vs.settings.key] = &vs;
    }
    boost::json::array services;
    for (const auto& [key, entry] : in.kernel) {
        boost::json::object s;
        const auto* vs = by_key.contains(key) ? by_key[key] : nullptr;
        auto wanted = in.desired.find(key);
        const service_entry* want = wanted == in.desired.end() ? nullptr : &wanted->second;
        s["service"] = to_string(key);
        s["owned"] = in.owned.contains(key) || want != nullptr;
        s["virtual_server"] = vs ? boost::json::value(vs->name) : boost::json::value(nullptr);
        s["scheduler"] = entry.settings.scheduler;
        s["flags"] = flag_names(entry.settings);
        s["persistence_timeout"] = entry.settings.timeout;
        s["persistence_netmask"] = entry.settings.netmask;
        boost::json::value quorum_up = nullptr;
        boost::json::value healthy_weight = nullptr;
        boost::json::value sorry = nullptr;
        const auto* states = in.build ? &in.build->virtual_servers : in.virtual_servers;
        if (vs && states) {
            if (auto it = states->find(vs->name); it != states->end()) {
                quorum_up = it->second.quorum_up;
                healthy_weight = it->second.healthy_weight;
                sorry = it->second.sorry_server_active;
            }
        }
        s["quorum_up"] = quorum_up;
        s["healthy_weight"] = healthy_weight;
        s["sorry_server_active"] = sorry;
        bool in_sync = want && want->settings.same_settings(entry.settings) &&
                       want->destinations.size() == entry.destinations.size();
        s["stats"] = counters_json(entry.settings.stats);
        boost::json::array dests;
        for (const auto& [address, d] : entry.destinations) {
            boost::json::object o;
            o["address"] = to_string(address);
            boost::json::value rs_name = nullptr;
            boost::json::value health = nullptr;
            if (vs) {
                for (const auto& rs : vs->real_servers) {
                    if (rs.address == address) {
                        rs_name = rs.name;
                        auto h = in.health.find(rs.name);
                        health =
                            h == in.health.end() ? "unchecked" : (h->second.up ? "up" : "down");
                    }
                }
            }
            o["real_server"] = rs_name;
            o["sorry_server"] = vs && vs->sorry_server == address;
            o["health"] = health;
            o["forwarding"] = to_string(d.forward);
            o["weight"] = d.weight;
            boost::json::value desired_weight = nullptr;
            if (want) {
                if (auto w = want->destinations.find(address); w != want->destinations.end()) {
                    desired_weight = w->second.weight;
                    in_sync = in_sync && w->second.same_settings(d);
                } else {
                    in_sync = false;
                }
            }
            o["desired_weight"] = desired_weight;
            o["upper_threshold"] = d.upper_threshold;
            o["lower_threshold"] = d.lower_threshold;
            o["active_connections"] = d.active_connections;
            o["inactive_connections"] = d.inactive_connections;
            o["persistent_connections"] = d.persistent_connections;
            o["stats"] = counters_json(d.stats);
            dests.push_back(std::move(o));
        }
        s["in_sync"] = want ? boost::json::value(in_sync) : boost::json::value(nullptr);
        s["destinations"] = std::move(dests);
        services.push_back(std::move(s));
    }
    boost::json::array missing;
    for (const auto& [key, want] : in.desired) {
        auto have = in.kernel.find(key);
        if (have == in.kernel.end()) {
            missing.emplace_back(to_string(key));
            continue;
        }
        for (const auto& [address, d] : want.destinations) {
            if (!have->second.destinations.contains(address)) {
                missing.emplace_back(to_string(key) + " -> " + to_string(address));
            }
        }
    }
    return boost::json::object{{"services", std::move(services)}, {"missing", std::move(missing)}};
}

boost::json::value status_json(const status_snapshot& snapshot) {
    auto table_status =
        status_json({snapshot.kernel, snapshot.desired, snapshot.owned, snapshot.servers,
                     snapshot.health, nullptr, &snapshot.virtual_servers});
    boost::json::object out;
    out["backend"] = snapshot.backend;
    out["services"] = std::move(table_status.as_object()["services"]);
    out["missing"] = std::move(table_status.as_object()["missing"]);
    out["kernel_view_age_ms"] = snapshot.kernel_view_age_ms
                                    ? boost::json::value(*snapshot.kernel_view_age_ms)
                                    : boost::json::value(nullptr);
    out["kernel_view_operations"] = snapshot.kernel_view_operations;
    return out;
}

}  // namespace vigil::ipvs
