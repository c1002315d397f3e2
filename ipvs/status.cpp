#include "ipvs/status.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <map>
#include <tuple>
#include <vector>

#include "base/json_writer.hpp"

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

void write_counters(json_writer& w, const counters& c) {
    w.begin_object();
    w.member("connections", c.connections);
    w.member("in_packets", c.in_packets);
    w.member("out_packets", c.out_packets);
    w.member("in_bytes", c.in_bytes);
    w.member("out_bytes", c.out_bytes);
    w.member("cps", c.cps);
    w.member("in_pps", c.in_pps);
    w.member("out_pps", c.out_pps);
    w.member("in_bps", c.in_bps);
    w.member("out_bps", c.out_bps);
    w.end_object();
}

void write_flag_names(json_writer& w, const service& s) {
    w.begin_array();
    if (s.flags & service_flags::persistent) {
        w.value("persistent");
    }
    if (s.flags & service_flags::one_packet) {
        w.value("one_packet");
    }
    if (s.flags & service_flags::sched_flag_1) {
        w.value("flag-1");
    }
    if (s.flags & service_flags::sched_flag_2) {
        w.value("flag-2");
    }
    if (s.flags & service_flags::sched_flag_3) {
        w.value("flag-3");
    }
    w.end_array();
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

namespace {

void write_status_members(json_writer& w, const status_inputs& in) {
    // Which virtual server and real server each kernel entry belongs to.
    std::map<service_key, const virtual_server_spec*> by_key;
    for (const auto& vs : in.servers) {
        by_key[vs.settings.key] = &vs;
    }
    const auto* states = in.build ? &in.build->virtual_servers : in.virtual_servers;
    w.key("services");
    w.begin_array();
    for (const auto& [key, entry] : in.kernel) {
        auto found = by_key.find(key);
        const auto* vs = found == by_key.end() ? nullptr : found->second;
        auto wanted = in.desired.find(key);
        const service_entry* want = wanted == in.desired.end() ? nullptr : &wanted->second;
        w.begin_object();
        w.member("service", to_string(key));
        w.member("owned", in.owned.contains(key) || want != nullptr);
        w.key("virtual_server");
        vs ? w.value(vs->name) : w.null();
        w.member("scheduler", entry.settings.scheduler);
        w.key("flags");
        write_flag_names(w, entry.settings);
        w.member("persistence_timeout", entry.settings.timeout);
        w.member("persistence_netmask", entry.settings.netmask);
        const virtual_server_state* state = nullptr;
        if (vs && states) {
            if (auto it = states->find(vs->name); it != states->end()) {
                state = &it->second;
            }
        }
        w.key("quorum_up");
        state ? w.value(state->quorum_up) : w.null();
        w.key("healthy_weight");
        state ? w.value(state->healthy_weight) : w.null();
        w.key("sorry_server_active");
        state ? w.value(state->sorry_server_active) : w.null();
        w.key("stats");
        write_counters(w, entry.settings.stats);
        // in_sync comes before the destinations it is computed from.
        bool in_sync = want && want->settings.same_settings(entry.settings) &&
                       want->destinations.size() == entry.destinations.size();
        if (want) {
            for (const auto& [address, d] : entry.destinations) {
                auto wd = want->destinations.find(address);
                in_sync = in_sync && wd != want->destinations.end() && wd->second.same_settings(d);
            }
        }
        w.key("in_sync");
        want ? w.value(in_sync) : w.null();
        w.key("destinations");
        w.begin_array();
        for (const auto& [address, d] : entry.destinations) {
            w.begin_object();
            w.member("address", to_string(address));
            const std::string* rs_name = nullptr;
            const char* health = nullptr;
            if (vs) {
                for (const auto& rs : vs->real_servers) {
                    if (rs.address == address) {
                        rs_name = &rs.name;
                        auto h = in.health.find(rs.name);
                        health =
                            h == in.health.end() ? "unchecked" : (h->second.up ? "up" : "down");
                    }
                }
            }
            w.key("real_server");
            rs_name ? w.value(*rs_name) : w.null();
            w.member("sorry_server", vs && vs->sorry_server == address);
            w.key("health");
            health ? w.value(health) : w.null();
            w.member("forwarding", to_string(d.forward));
            w.member("weight", d.weight);
            w.key("desired_weight");
            const destination* wd = nullptr;
            if (want) {
                if (auto it = want->destinations.find(address); it != want->destinations.end()) {
                    wd = &it->second;
                }
            }
            wd ? w.value(wd->weight) : w.null();
            w.member("upper_threshold", d.upper_threshold);
            w.member("lower_threshold", d.lower_threshold);
            w.member("active_connections", d.active_connections);
            w.member("inactive_connections", d.inactive_connections);
            w.member("persistent_connections", d.persistent_connections);
            w.key("stats");
            write_counters(w, d.stats);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("missing");
    w.begin_array();
    for (const auto& [key, want] : in.desired) {
        auto have = in.kernel.find(key);
        if (have == in.kernel.end()) {
            w.value(to_string(key));
            continue;
        }
        for (const auto& [address, d] : want.destinations) {
            if (!have->second.destinations.contains(address)) {
                w.value(to_string(key) + " -> " + to_string(address));
            }
        }
    }
    w.end_array();
}

}  // namespace

boost::json::value status_json(const status_inputs& in) {
    std::string text;
    json_writer w(text);
    w.begin_object();
    write_status_members(w, in);
    w.end_object();
    return boost::json::parse(text);
}

void write_status_json(json_writer& w, const status_snapshot& snapshot) {
    w.begin_object();
    w.member("backend", snapshot.backend);
    write_status_members(w, {snapshot.kernel, snapshot.desired, snapshot.owned, snapshot.servers,
                             snapshot.health, nullptr, &snapshot.virtual_servers});
    w.key("kernel_view_age_ms");
    snapshot.kernel_view_age_ms ? w.value(*snapshot.kernel_view_age_ms) : w.null();
    w.member("kernel_view_operations", snapshot.kernel_view_operations);
    w.end_object();
}

boost::json::value status_json(const status_snapshot& snapshot) {
    std::string text;
    json_writer w(text);
    write_status_json(w, snapshot);
    return boost::json::parse(text);
}

}  // namespace vigil::ipvs
