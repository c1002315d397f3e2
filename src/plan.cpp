#include "plan.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "base/duration.hpp"
#include "checker_specs.hpp"
#include "ipvs/diff.hpp"
#include "ipvs/operation.hpp"
#include "ipvs_specs.hpp"
#include "vrrp/reload_effect.hpp"
#include "vrrp_specs.hpp"

namespace vigil {

namespace {

// The health monitor reports a weight with every result (a script's dynamic weight, else the
// configured one), and a reload whose configured weight changed reports the new one at once; a
// changed probe forgets its dynamic weight. The supervisor hands a drained server's health on
// with weight 0, which a reload keeps.
void follow_configured_weights(const running_state& now,
                               const std::vector<checkers::checked_server_spec>& after,
                               ipvs::desired_state& state) {
    for (const auto& spec : after) {
        auto before = std::find_if(now.checks.begin(), now.checks.end(),
                                   [&](const auto& c) { return c.name == spec.name; });
        auto health = state.health().find(spec.name);
        if (before == now.checks.end() || health == state.health().end() ||
            !health->second.weight || before->weight == spec.weight) {
            continue;
        }
        auto same_probe = *before;
        same_probe.weight = spec.weight;
        bool was_configured = *health->second.weight == before->weight;
        bool dynamic_forgotten = !(same_probe == spec) && *health->second.weight != 0;
        if (was_configured || dynamic_forgotten) {
            state.set_health(spec.name, {health->second.up, spec.weight});
        }
    }
}

std::vector<ipvs::operation> plan_ipvs(const running_state& now,
                                       const config::configuration& next) {
    auto specs = virtual_server_specs(next);
    // A copy of the running table's state: same quorum memory and health as the reconciler's,
    // so the operations are the ones its set_specs would cause.
    ipvs::desired_state state = now.ipvs ? *now.ipvs : ipvs::desired_state{};
    auto before = state.desired();
    std::set<ipvs::service_key> owned = now.owned;
    for (const auto& [key, entry] : before) {
        owned.insert(key);
    }
    if (!now.ipvs && specs.empty()) {
        return {};  // IPVS stays off
    }
    state.set_specs(std::move(specs));
    follow_configured_weights(now, checked_real_servers(next), state);
    return ipvs::diff(state.desired(), before, owned);
}

void plan_vrrp(const running_state& now, const config::configuration& next, reload_plan& plan) {
    auto wanted = instance_specs(next);
    auto state_of = [&](const std::string& name) -> std::string {
        for (const auto& s : now.vrrp_status) {
            if (s.name == name) {
                return std::string(vrrp::to_string(s.current));
            }
        }
        return "";
    };
    for (const auto& current : now.vrrp) {
        auto found = std::find_if(wanted.begin(), wanted.end(),
                                  [&](const auto& w) { return w.name == current.name; });
        instance_change change;
        change.name = current.name;
        change.state = state_of(current.name);
        if (found == wanted.end()) {
            change.change = "removed";
        } else {
            auto effect = vrrp::classify_reload(*found, current);
            if (effect == vrrp::reload_effect::unchanged) {
                continue;
            }
            change.change = std::string(vrrp::to_string(effect));
            if (found->election.priority != current.election.priority) {
                change.priority_from = current.election.priority;
                change.priority_to = found->election.priority;
            }
        }
        change.master_resigns = change.change != "in_place" && change.state == "MASTER";
        plan.vrrp.push_back(std::move(change));
    }
    for (const auto& w : wanted) {
        bool known = std::any_of(now.vrrp.begin(), now.vrrp.end(),
                                 [&](const auto& c) { return c.name == w.name; });
        if (!known) {
            instance_change change;
            change.name = w.name;
            change.change = "added";
            change.priority_to = w.election.priority;
            plan.vrrp.push_back(std::move(change));
        }
    }
}

void plan_checks(const running_state& now, const config::configuration& next, reload_plan& plan) {
    std::map<std::string, const checkers::checked_server_spec*> before;
    for (const auto& c : now.checks) {
        before[c.name] = &c;
    }
    auto after = checked_real_servers(next);
    for (const auto& c : after) {
        auto it = before.find(c.name);
        if (it == before.end()) {
            plan.checks_added.push_back(c.name);
            continue;
        }
        // The weight is the table's (planned above): only a different probe is a changed check.
        auto same_probe = *it->second;
        same_probe.weight = c.weight;
        if (!(same_probe == c)) {
            plan.checks_changed.push_back(c.name);
        }
        before.erase(it);
    }
    for (const auto& [name, spec] : before) {
        plan.checks_removed.push_back(name);
    }
}

std::string log_format_name(config::log_format_choice format) {
    switch (format) {
        case config::log_format_choice::json:
            return "json";
        case config::log_format_choice::text:
            return "text";
        case config::log_format_choice::automatic:
            break;
    }
    return "auto";
}

std::string endpoint_or_off(const std::optional<ip_endpoint>& endpoint) {
    return endpoint ? to_string(*endpoint) : std::string("off");
}

std::string joined(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& item : list) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return "[" + out + "]";
}

// One line per global setting that differs: every one of them is applied by a reload.
void plan_settings(const running_state& now, const config::configuration& next, reload_plan& plan) {
    auto compare = [&](const char* key, const std::string& from, const std::string& to) {
        if (from != to) {
            plan.settings.push_back(std::string(key) + ": " + from + " -> " + to);
        }
    };
    const auto& a = now.global;
    const auto& b = next.global;
    compare("node", a.node, b.node);
    compare("log.target", a.log.target, b.log.target);
    compare("log.format", log_format_name(a.log.format), log_format_name(b.log.format));
    compare("log.level", std::string(to_string(a.log.level)), std::string(to_string(b.log.level)));
    compare("control_socket", a.control_socket, b.control_socket);
    compare("state_dir", a.state_dir, b.state_dir);
    compare("ipvs.backend",
            a.ipvs.backend == config::ipvs_backend_choice::memory ? "memory" : "netlink",
            b.ipvs.backend == config::ipvs_backend_choice::memory ? "memory" : "netlink");
    compare("ipvs.resync_interval", format_duration(a.ipvs.resync_interval),
            format_duration(b.ipvs.resync_interval));
    compare("ipvs.on_shutdown",
            a.ipvs.on_shutdown == config::shutdown_action::remove ? "remove" : "keep",
            b.ipvs.on_shutdown == config::shutdown_action::remove ? "remove" : "keep");
    compare("flap_threshold", std::to_string(a.flap_threshold), std::to_string(b.flap_threshold));
    compare("flap_window", format_duration(a.flap_window), format_duration(b.flap_window));
    compare("metrics.listen", endpoint_or_off(a.metrics.listen), endpoint_or_off(b.metrics.listen));

    std::map<std::string, const config::vrrp_sync_group*> groups;
    for (const auto& g : now.sync_groups) {
        groups[g.name] = &g;
    }
    for (const auto& g : next.vrrp_sync_groups) {
        auto found = groups.find(g.name);
        if (found == groups.end()) {
            plan.settings.push_back("sync group " + g.name + ": added " + joined(g.instances));
            continue;
        }
        compare(("sync group " + g.name).c_str(), joined(found->second->instances),
                joined(g.instances));
        groups.erase(found);
    }
    for (const auto& [name, group] : groups) {
        plan.settings.push_back("sync group " + name + ": removed");
    }

    auto describe_alert = [](const config::alert& hook) {
        std::string target =
            hook.url.empty() ? "command " + joined(hook.command) : "url " + hook.url;
        return joined(hook.events) + " to " + target + " (timeout " +
               format_duration(hook.timeout) + ", retries " + std::to_string(hook.retries) + ")";
    };
    auto count = std::max(now.alerts.size(), next.alerts.size());
    for (std::size_t i = 0; i < count; ++i) {
        auto label = "alert " + std::to_string(i + 1);
        if (i >= now.alerts.size()) {
            plan.settings.push_back(label + ": added " + describe_alert(next.alerts[i]));
        } else if (i >= next.alerts.size()) {
            plan.settings.push_back(label + ": removed " + describe_alert(now.alerts[i]));
        } else {
            compare(label.c_str(), describe_alert(now.alerts[i]), describe_alert(next.alerts[i]));
        }
    }
}

boost::json::array strings(const std::vector<std::string>& list) {
    boost::json::array out;
    for (const auto& s : list) {
        out.emplace_back(s);
    }
    return out;
}

}  // namespace

reload_plan plan_reload(const running_state& now, const config::configuration& next) {
    reload_plan plan;
    plan.ipvs_operations = plan_ipvs(now, next);
    if (now.ipvs && now.kernel) {
        plan.ipvs_pending = ipvs::diff(now.ipvs->desired(), *now.kernel, now.owned).size();
    }
    plan_vrrp(now, next, plan);
    plan_checks(now, next, plan);
    plan_settings(now, next, plan);
    // The same guard as the reload's: a truncated file can be valid TOML.
    if (!now.vrrp.empty() && next.vrrp_instances.empty()) {
        plan.refusals.push_back("the new configuration removes every VRRP instance");
    }
    if (now.virtual_servers > 0 && next.virtual_servers.empty()) {
        plan.refusals.push_back("the new configuration removes every virtual server");
    }
    return plan;
}

boost::json::object to_json(const reload_plan& plan) {
    boost::json::object reply;
    reply["valid"] = true;
    reply["changes"] = plan.changes_something();
    boost::json::array operations;
    for (const auto& op : plan.ipvs_operations) {
        boost::json::object o;
        o["op"] = std::string(ipvs::to_string(op.kind));
        o["service"] = ipvs::to_string(op.svc.key);
        o["text"] = ipvs::describe(op);
        operations.push_back(std::move(o));
    }
    boost::json::object ipvs;
    ipvs["operations"] = std::move(operations);
    ipvs["pending"] = plan.ipvs_pending;
    reply["ipvs"] = std::move(ipvs);
    boost::json::array vrrp;
    for (const auto& c : plan.vrrp) {
        boost::json::object o;
        o["instance"] = c.name;
        o["change"] = c.change;
        o["state"] = c.state;
        if (c.priority_from) {
            o["priority_from"] = *c.priority_from;
        }
        if (c.priority_to) {
            o["priority_to"] = *c.priority_to;
        }
        o["master_resigns"] = c.master_resigns;
        vrrp.push_back(std::move(o));
    }
    reply["vrrp"] = std::move(vrrp);
    boost::json::object checks;
    checks["added"] = strings(plan.checks_added);
    checks["removed"] = strings(plan.checks_removed);
    checks["changed"] = strings(plan.checks_changed);
    reply["checks"] = std::move(checks);
    reply["settings"] = strings(plan.settings);
    reply["refusals"] = strings(plan.refusals);
    bool resigns = std::any_of(plan.vrrp.begin(), plan.vrrp.end(),
                               [](const auto& c) { return c.master_resigns; });
    reply["master_resigns"] = resigns;
    return reply;
}

std::string render_plan_text(const boost::json::object& reply) {
    std::ostringstream out;
    const auto& ops = reply.at("ipvs").at("operations").as_array();
    const auto& vrrp = reply.at("vrrp").as_array();
    const auto& checks = reply.at("checks").as_object();
    if (!reply.at("changes").as_bool()) {
        out << "no changes\n";
    }
    if (!ops.empty()) {
        out << "IPVS: " << ops.size() << (ops.size() == 1 ? " operation\n" : " operations\n");
        for (const auto& op : ops) {
            out << "  " << std::string(op.at("text").as_string()) << "\n";
        }
    }
    if (!vrrp.empty()) {
        out << "VRRP:\n";
        for (const auto& v : vrrp) {
            const auto& o = v.as_object();
            out << "  " << std::string(o.at("instance").as_string()) << ": "
                << std::string(o.at("change").as_string());
            if (o.contains("priority_from") && o.contains("priority_to")) {
                out << " (priority " << o.at("priority_from").to_number<unsigned>() << " -> "
                    << o.at("priority_to").to_number<unsigned>() << ")";
            }
            if (std::string_view state = o.at("state").as_string(); !state.empty()) {
                out << ", now " << state;
            }
            if (o.at("master_resigns").as_bool()) {
                out << "; the master resigns (a backup takes over)";
            }
            out << "\n";
        }
    }
    for (const char* kind : {"added", "removed", "changed"}) {
        const auto& list = checks.at(kind).as_array();
        if (!list.empty()) {
            out << "checks " << kind << ":";
            for (const auto& name : list) {
                out << " " << std::string(name.as_string());
            }
            out << "\n";
        }
    }
    if (const auto* settings = reply.if_contains("settings");
        settings != nullptr && !settings->as_array().empty()) {
        out << "settings:\n";
        for (const auto& line : settings->as_array()) {
            out << "  " << std::string(line.as_string()) << "\n";
        }
    }
    if (auto pending = reply.at("ipvs").at("pending").to_number<std::uint64_t>(); pending > 0) {
        out << "note: " << pending
            << " IPVS operations are pending anyway (the kernel differs from the running config)\n";
    }
    for (const auto& r : reply.at("refusals").as_array()) {
        out << "refused without --allow-empty: " << std::string(r.as_string()) << "\n";
    }
    return out.str();
}

}  // namespace vigil
