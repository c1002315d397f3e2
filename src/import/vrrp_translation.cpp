#include "import/vrrp_translation.hpp"

#include <algorithm>
#include <vector>

#include "base/address.hpp"
#include "import/toml_text.hpp"

namespace vigil::import {

using vigil::to_string;

namespace {

using namespace std::chrono_literals;

constexpr std::string_view vip_options_without_effect = "vigil adds each VIP with its prefix only";

// Keywords vigil has no counterpart for, with the reason a reader needs.
std::string_view unsupported_reason(std::string_view keyword) {
    if (keyword == "smtp_alert") {
        return "vigil has no e-mail alerts; an [[alert]] hook on vrrp.transition can send them";
    }
    if (keyword == "virtual_ipaddress_excluded") {
        return "vigil advertises every VIP it adds";
    }
    if (keyword == "virtual_routes" || keyword == "virtual_rules") {
        return "vigil adds no routes or rules; a notify_master program can";
    }
    if (keyword == "mcast_src_ip") {
        return "vigil sends multicast adverts from the interface's first address";
    }
    if (keyword == "dont_track_primary") {
        return "vigil always follows the interface's link state";
    }
    return {};
}

struct instance_builder {
    instance_builder(const keepalived_statement& i, const vrrp_defaults& d,
                     vrrp_translation_state& s, translation_context& c)
        : instance(i), defaults(d), state(s), context(c) {}

    const keepalived_statement& instance;
    const vrrp_defaults& defaults;
    vrrp_translation_state& state;
    translation_context& context;

    std::string name;
    toml_table_text out{"[[vrrp_instance]]"};
    std::optional<std::string> interface;
    std::optional<std::int64_t> vrid;
    unsigned version = defaults.version;
    std::optional<milliseconds> advert;
    std::vector<std::string> vips;
    std::optional<address_family> family;
    std::optional<std::string> state_comment;
    bool ok = true;
    // Keys that follow the address list, in keepalived's order of appearance.
    toml_table_text rest{""};

    void vip_list(const keepalived_statement& block) {
        for (const auto& line : block.block) {
            auto prefix = parse_prefix(line.keyword);
            if (!prefix) {
                context.warn(line,
                             "virtual_ipaddress '" + line.keyword + "' is not an address: skipped");
                continue;
            }
            bool skip = false;
            for (std::size_t i = 0; i < line.arguments.size(); ++i) {
                const auto& option = line.arguments[i];
                bool has_value = option == "dev" || option == "label" || option == "brd" ||
                                 option == "scope" || option == "peer" || option == "preferred_lft";
                std::string value = has_value && i + 1 < line.arguments.size() ? line.arguments[++i]
                                                                               : std::string();
                if (option == "dev") {
                    if (interface && value != *interface) {
                        context.warn(line, "virtual_ipaddress " + line.keyword + " is on " + value +
                                               ", not the instance's interface " + *interface +
                                               ": vigil puts every VIP on the instance's "
                                               "interface: skipped");
                        skip = true;
                    }
                } else if (option == "label") {
                    context.warn(line, "virtual_ipaddress " + line.keyword + ": label " + value +
                                           " is not translated (" +
                                           std::string(vip_options_without_effect) + ")");
                } else {
                    context.warn(line, "virtual_ipaddress " + line.keyword + ": option '" + option +
                                           "' is not translated (" +
                                           std::string(vip_options_without_effect) + ")");
                }
            }
            if (skip) {
                continue;
            }
            if (family && prefix->family() != *family) {
                context.warn(line, "virtual_ipaddress " + line.keyword +
                                       ": vigil needs all of an instance's VIPs in one address "
                                       "family: skipped");
                continue;
            }
            family = prefix->family();
            auto text = to_string(*prefix);
            if (std::find(vips.begin(), vips.end(), text) != vips.end()) {
                context.warn(line, "virtual_ipaddress " + line.keyword +
                                       " is listed twice: " + "the repeat is dropped");
                continue;
            }
            vips.push_back(text);
        }
    }

    void unicast_peers(const keepalived_statement& block) {
        std::vector<std::string> peers;
        for (const auto& line : block.block) {
            auto address = parse_address(line.keyword);
            if (!address) {
                context.warn(line,
                             "unicast_peer '" + line.keyword + "' is not an address: skipped");
                continue;
            }
            if (!line.arguments.empty()) {
                context.warn(line, "unicast_peer " + line.keyword + ": '" + line.arguments[0] +
                                       "' and what follows are not translated");
            }
            if (std::find(peers.begin(), peers.end(), to_string(*address)) == peers.end()) {
                peers.push_back(to_string(*address));
            }
        }
        if (!peers.empty()) {
            rest.set("unicast_peers", toml_string_array(peers));
        }
    }

    void track_interfaces(const keepalived_statement& block) {
        std::vector<std::string> items;
        for (const auto& line : block.block) {
            std::string item = toml_string(line.keyword);
            if (line.arguments.size() >= 2 && line.arguments[0] == "weight") {
                keepalived_statement weight{"weight", {line.arguments[1]}, false, {}, line.where};
                if (auto w = context.integer(weight, -253, 253)) {
                    item = "{ name = " + toml_string(line.keyword) +
                           ", weight = " + std::to_string(*w) + " }";
                }
                if (line.arguments.size() > 2) {
                    context.warn(line, "track_interface " + line.keyword + ": '" +
                                           line.arguments[2] + "' is not translated");
                }
            } else if (!line.arguments.empty()) {
                context.warn(line, "track_interface " + line.keyword + ": '" + line.arguments[0] +
                                       "' is not translated");
            }
            items.push_back(item);
        }
        if (!items.empty()) {
            std::string value = "[";
            for (std::size_t i = 0; i < items.size(); ++i) {
                value += (i ? ", " : "") + items[i];
            }
            rest.set("track_interface", value + "]");
        }
    }

    std::optional<std::string> script_tracker(const keepalived_statement& line) {
        auto found = defaults.scripts.find(line.keyword);
        if (found == defaults.scripts.end()) {
            context.warn(line, "track_script " + line.keyword +
                                   ": no vrrp_script of that name: "
                                   "skipped");
            return std::nullopt;
        }
        const auto& script = *found->second;
        std::optional<std::vector<std::string>> argv;
        milliseconds interval = 1s;
        std::optional<milliseconds> timeout;
        std::int64_t weight = 0, rise = 1, fall = 1;
        std::optional<std::string> user;
        for (const auto& s : script.block) {
            if (s.keyword == "script") {
                if (auto text = context.argument(s)) {
                    argv = context.command(s, *text);
                }
            } else if (s.keyword == "interval") {
                interval = context.seconds(s, 100ms, 1h).value_or(interval);
            } else if (s.keyword == "timeout") {
                timeout = context.seconds(s, 10ms, 1h);
            } else if (s.keyword == "weight") {
                weight = context.integer(s, -253, 253).value_or(weight);
                if (s.arguments.size() > 1) {
                    context.warn(s, "vrrp_script " + script.arguments.front() + ": weight '" +
                                        s.arguments[1] + "' is not translated");
                }
            } else if (s.keyword == "rise") {
                rise = context.integer(s, 1, 1000).value_or(rise);
            } else if (s.keyword == "fall") {
                fall = context.integer(s, 1, 1000).value_or(fall);
            } else if (s.keyword == "user") {
                user = context.argument(s);
            } else if (s.keyword == "init_fail") {
                // vigil starts every script tracker failed until proven, which is init_fail.
            } else {
                context.not_translated(s);
            }
        }
        if (line.arguments.size() >= 2 && line.arguments[0] == "weight") {
            keepalived_statement w{"weight", {line.arguments[1]}, false, {}, line.where};
            weight = context.integer(w, -253, 253).value_or(weight);
        }
        if (!argv) {
            context.warn(line, "track_script " + line.keyword + ": no program to run: skipped");
            return std::nullopt;
        }
        if (timeout && *timeout > interval) {
            context.warn(line, "track_script " + line.keyword + ": timeout " +
                                   duration_text(*timeout) + " is longer than the interval " +
                                   duration_text(interval) +
                                   "; vigil needs it within: " + "set to the interval");
            timeout = interval;
        }
        std::string item = "{ name = " + toml_string(vigil_name(line.keyword)) +
                           ", command = " + toml_string_array(*argv) +
                           ", interval = " + toml_string(duration_text(interval));
        if (timeout) {
            item += ", timeout = " + toml_string(duration_text(*timeout));
        }
        item += ", rise = " + std::to_string(rise) + ", fall = " + std::to_string(fall) +
                ", weight = " + std::to_string(weight);
        if (user) {
            item += ", user = " + toml_string(*user);
        }
        return item + " }";
    }

    void track_scripts(const keepalived_statement& block) {
        std::vector<std::string> items;
        for (const auto& line : block.block) {
            if (auto item = script_tracker(line)) {
                items.push_back(*item);
            }
        }
        if (!items.empty()) {
            rest.comment(
                "keepalived's vrrp_script: vigil starts each script failed until it passes "
                "(init_fail)");
            std::string value = "[\n";
            for (const auto& item : items) {
                value += "  " + item + ",\n";
            }
            rest.set("track_script", value + "]");
        }
    }

    // keepalived's vrrp_track_file { file, weight } as vigil's track_file { path, weight }: the
    // same rule (value x weight added to the priority; weight 0: a non-zero value faults).
    void track_files(const keepalived_statement& block) {
        std::vector<std::string> items;
        for (const auto& line : block.block) {
            auto found = defaults.track_files.find(line.keyword);
            if (found == defaults.track_files.end()) {
                context.warn(line, "track_file " + line.keyword +
                                       ": no vrrp_track_file of that name: skipped");
                continue;
            }
            std::optional<std::string> path;
            std::int64_t weight = 1;
            for (const auto& s : found->second->block) {
                if (s.keyword == "file") {
                    path = context.argument(s);
                } else if (s.keyword == "weight") {
                    weight = context.integer(s, -253, 253).value_or(weight);
                    if (s.arguments.size() > 1) {
                        context.warn(
                            s, "vrrp_track_file weight '" + s.arguments[1] + "' is not translated");
                    }
                } else {
                    context.not_translated(
                        s, s.keyword == "init_file" ? "vigil counts a missing file as 0" : "");
                }
            }
            if (line.arguments.size() >= 2 && line.arguments[0] == "weight") {
                keepalived_statement w{"weight", {line.arguments[1]}, false, {}, line.where};
                weight = context.integer(w, -253, 253).value_or(weight);
            }
            if (!path || path->empty() || path->front() != '/') {
                context.warn(line, "track_file " + line.keyword +
                                       ": vigil needs the file's absolute path: skipped");
                continue;
            }
            items.push_back("{ path = " + toml_string(*path) +
                            ", weight = " + std::to_string(weight) + " }");
        }
        if (!items.empty()) {
            std::string value = "[";
            for (std::size_t i = 0; i < items.size(); ++i) {
                value += (i ? ", " : "") + items[i];
            }
            rest.set("track_file", value + "]");
        }
    }

    void notify(const keepalived_statement& s) {
        auto script = context.argument(s);
        if (!script) {
            return;
        }
        if (s.arguments.size() > 1) {
            context.warn(s, s.keyword + ": user '" + s.arguments[1] +
                                "' is not translated: vigil runs notify programs as itself");
        }
        if (auto argv = context.command(s, *script)) {
            if (s.keyword == "notify") {
                rest.comment(
                    "as keepalived's notify: INSTANCE <name> <state> <priority> is appended");
            }
            rest.set(s.keyword, toml_string_array(*argv));
        }
    }

    void garp(const keepalived_statement& s, std::string_view key) {
        if (key == "garp_master_delay" || key == "garp_master_refresh") {
            if (auto value = context.seconds(s, 0ms, key == "garp_master_delay" ? 1h : 24h)) {
                rest.set(key, toml_string(duration_text(*value)));
            }
        } else if (key == "garp_interval") {
            if (auto value = context.seconds(s, 0ms, 1s)) {
                rest.set(key, toml_string(duration_text(*value)));
            }
        } else if (auto value = context.integer(s, 1, 255)) {
            rest.set(key, std::to_string(*value));
        }
    }

    void sync_daemon(const keepalived_statement& s, std::string_view interface_name,
                     std::optional<std::int64_t> id) {
        if (state.sync_daemon_taken) {
            context.warn(s, "'" + s.keyword +
                                "' is not translated: the kernel runs one sync daemon, already "
                                "given to an earlier instance");
            return;
        }
        state.sync_daemon_taken = true;
        std::string value = "{ interface = " + toml_string(interface_name);
        if (id) {
            value += ", id = " + std::to_string(*id);
        }
        rest.set("sync_daemon", value + " }");
    }

    void statement(const keepalived_statement& s) {
        const auto& k = s.keyword;
        if (k == "state") {
            if (!s.arguments.empty()) {
                state_comment = "keepalived had state " + s.arguments[0] +
                                ". vigil starts every instance as BACKUP (an address owner, "
                                "priority 255, as MASTER)\n"
                                "and becomes MASTER by election, within Master_Down_Interval";
            }
        } else if (k == "interface") {
            interface = context.argument(s);
        } else if (k == "virtual_router_id") {
            vrid = context.integer(s, 1, 255);
        } else if (k == "priority") {
            if (auto p = context.integer(s, 1, 255)) {
                rest.set("priority", std::to_string(*p));
            }
        } else if (k == "version") {
            if (auto v = context.integer(s, 2, 3)) {
                version = static_cast<unsigned>(*v);
            }
        } else if (k == "advert_int") {
            advert = context.seconds(s, 10ms, 255s);
        } else if (k == "virtual_ipaddress") {
            vip_list(s);
        } else if (k == "nopreempt") {
            rest.set("preempt", "false");
        } else if (k == "preempt") {
            // keepalived's default, and vigil's.
        } else if (k == "preempt_delay") {
            bool nopreempt = std::any_of(instance.block.begin(), instance.block.end(),
                                         [](const auto& x) { return x.keyword == "nopreempt"; });
            if (nopreempt) {
                context.warn(s, "preempt_delay has no effect with nopreempt: not translated");
            } else if (auto d = context.seconds(s, 0ms, 1000s)) {
                rest.set("preempt_delay", toml_string(duration_text(*d)));
            }
        } else if (k == "authentication") {
            authentication(s);
        } else if (k == "unicast_src_ip") {
            bool peers = std::any_of(instance.block.begin(), instance.block.end(),
                                     [](const auto& x) { return x.keyword == "unicast_peer"; });
            if (!peers) {
                context.warn(s,
                             "unicast_src_ip without unicast_peer has no effect: not "
                             "translated");
            } else if (auto text = context.argument(s)) {
                if (auto address = parse_address(*text)) {
                    rest.set("unicast_source", toml_string(to_string(*address)));
                } else {
                    context.warn(s, "unicast_src_ip '" + *text + "' is not an address: ignored");
                }
            }
        } else if (k == "unicast_peer") {
            unicast_peers(s);
        } else if (k == "track_interface") {
            track_interfaces(s);
        } else if (k == "track_file") {
            track_files(s);
        } else if (k == "track_script") {
            track_scripts(s);
        } else if (k == "notify" || k == "notify_master" || k == "notify_backup" ||
                   k == "notify_fault" || k == "notify_stop") {
            notify(s);
        } else if (k == "use_vmac") {
            rest.set("use_vmac", "true");
            if (!s.arguments.empty()) {
                rest.set("vmac_name", toml_string(s.arguments[0]));
            }
        } else if (k == "garp_master_delay" || k == "garp_master_repeat" ||
                   k == "garp_master_refresh" || k == "garp_master_refresh_repeat" ||
                   k == "garp_interval") {
            garp(s, k);
        } else if (k == "lvs_sync_daemon_interface") {
            if (auto value = context.argument(s)) {
                sync_daemon(s, *value, std::nullopt);
            }
        } else {
            context.not_translated(s, unsupported_reason(k));
        }
    }

    void authentication(const keepalived_statement& s) {
        std::optional<std::string> type, pass;
        for (const auto& a : s.block) {
            if (a.keyword == "auth_type") {
                type = context.argument(a);
            } else if (a.keyword == "auth_pass") {
                pass = context.argument(a);
            } else {
                context.not_translated(a);
            }
        }
        if (type && *type != "PASS") {
            context.warn(
                s, "authentication type " + *type + " is not translated: vigil supports PASS only");
            return;
        }
        if (!pass) {
            return;
        }
        if (version == 3) {
            context.warn(s, "authentication is not translated: VRRPv3 has none (RFC 5798)");
            return;
        }
        if (pass->size() > 8) {
            rest.comment("keepalived uses the first 8 characters of auth_pass, as here");
            pass->resize(8);
        }
        rest.set("auth_pass", toml_string(*pass));
    }

    std::optional<std::string> build() {
        auto raw = instance.arguments.empty() ? std::string() : instance.arguments[0];
        if (raw.empty()) {
            context.warn(instance, "vrrp_instance without a name: skipped");
            return std::nullopt;
        }
        name = vigil_name(raw);
        if (name != raw) {
            context.warn(instance, "vrrp_instance '" + raw + "' is renamed '" + name +
                                       "' (vigil's names: letters, digits, '_', '-', '.')");
        }
        if (!state.instance_names.insert(name).second) {
            context.warn(instance, "vrrp_instance " + name + " is defined twice: skipped");
            return std::nullopt;
        }
        // The version first: authentication depends on it.
        for (const auto& s : instance.block) {
            if (s.keyword == "version") {
                statement(s);
            }
        }
        for (const auto& s : instance.block) {
            if (s.keyword == "interface") {
                statement(s);
            }
        }
        for (const auto& entry : defaults.garp) {
            const std::string& key = entry.first;
            bool own = std::any_of(instance.block.begin(), instance.block.end(),
                                   [&](const auto& x) { return x.keyword == key; });
            if (!own) {
                garp(*entry.second, key);
            }
        }
        for (const auto& s : instance.block) {
            if (s.keyword != "version" && s.keyword != "interface") {
                statement(s);
            }
        }
        if (auto sync = defaults.sync_daemon.find(raw); sync != defaults.sync_daemon.end()) {
            const auto& s = *sync->second;
            std::optional<std::int64_t> id;
            if (s.arguments.size() >= 4 && s.arguments[2] == "id") {
                keepalived_statement id_statement{"id", {s.arguments[3]}, false, {}, s.where};
                id = context.integer(id_statement, 0, 255);
            }
            sync_daemon(s, s.arguments[0], id);
        }
        if (!interface) {
            context.warn(instance, "vrrp_instance " + name + " has no interface: skipped");
            return std::nullopt;
        }
        if (!vrid) {
            context.warn(instance,
                         "vrrp_instance " + name + " has no valid virtual_router_id: skipped");
            return std::nullopt;
        }
        if (vips.empty()) {
            context.warn(instance, "vrrp_instance " + name +
                                       " has no virtual_ipaddress vigil can add; vigil needs "
                                       "at least one: skipped");
            return std::nullopt;
        }
        if (family == address_family::ipv6 && version == 2) {
            out.comment("IPv6 needs VRRPv3, which keepalived uses for IPv6 instances too");
            version = 3;
        }
        out.set("name", toml_string(name));
        if (state_comment) {
            out.comment(*state_comment);
        }
        out.set("interface", toml_string(*interface));
        out.set("virtual_router_id", std::to_string(*vrid));
        out.set("version", std::to_string(version));
        auto interval = advert.value_or(1s);
        if (version == 2 && interval.count() % 1000 != 0) {
            auto whole = std::max<std::int64_t>(1, (interval.count() + 500) / 1000);
            context.warn(instance,
                         "vrrp_instance " + name + ": advert_int " + duration_text(interval) +
                             " is not whole seconds, which VRRPv2 needs: " + std::to_string(whole) +
                             "s written");
            interval = milliseconds(whole * 1000);
        } else if (version == 3 && interval.count() % 10 != 0) {
            interval = milliseconds((interval.count() + 5) / 10 * 10);
            context.warn(instance,
                         "vrrp_instance " + name +
                             ": advert_int rounded to VRRPv3's 10 ms: " + duration_text(interval));
        }
        if (version == 3 && interval > 40950ms) {
            context.warn(instance, "vrrp_instance " + name +
                                       ": advert_int above VRRPv3's 40.95 s: 40950ms written");
            interval = 40950ms;
        }
        out.set("advert_interval", toml_string(duration_text(interval)));
        out.set("virtual_ipaddress", toml_string_array(vips));
        out.append_lines(rest);
        return out.text();
    }
};

}  // namespace

std::optional<std::string> translate_vrrp_instance(const keepalived_statement& instance,
                                                   const vrrp_defaults& defaults,
                                                   vrrp_translation_state& state,
                                                   translation_context& context) {
    instance_builder builder(instance, defaults, state, context);
    auto text = builder.build();
    if (text) {
        state.translated.insert(builder.name);
    }
    return text;
}

std::optional<std::string> translate_vrrp_sync_group(const keepalived_statement& group,
                                                     const vrrp_translation_state& state,
                                                     std::set<std::string>& grouped,
                                                     translation_context& context) {
    std::string name = group.arguments.empty() ? "" : vigil_name(group.arguments[0]);
    if (name.empty()) {
        context.warn(group, "vrrp_sync_group without a name: skipped");
        return std::nullopt;
    }
    std::vector<std::string> members;
    for (const auto& s : group.block) {
        // Old configs (Debian's lvs_syncd sample) list the members without a group block.
        bool bare_member = !s.has_block && s.arguments.empty() &&
                           state.instance_names.count(vigil_name(s.keyword)) > 0;
        if (s.keyword != "group" && !bare_member) {
            context.not_translated(s, s.keyword.starts_with("notify")
                                          ? "vigil runs notify programs per instance"
                                          : "");
            continue;
        }
        std::vector<std::string> words;
        if (bare_member) {
            words.push_back(s.keyword);
        }
        for (const auto& line : s.block) {
            words.push_back(line.keyword);
            words.insert(words.end(), line.arguments.begin(), line.arguments.end());
        }
        for (const auto& word : words) {
            auto member = vigil_name(word);
            if (!state.translated.count(member)) {
                context.warn(s, "vrrp_sync_group " + name + ": instance " + word +
                                    " was not translated: left out of the group");
            } else if (!grouped.insert(member).second) {
                context.warn(s, "vrrp_sync_group " + name + ": instance " + word +
                                    " is already in a group: left out");
            } else {
                members.push_back(member);
            }
        }
    }
    if (members.size() < 2) {
        context.warn(
            group, "vrrp_sync_group " + name + " has fewer than two translated instances: skipped");
        for (const auto& m : members) {
            grouped.erase(m);
        }
        return std::nullopt;
    }
    toml_table_text out("[[vrrp_sync_group]]");
    out.set("name", toml_string(name));
    out.set("instances", toml_string_array(members));
    return out.text();
}

}  // namespace vigil::import
