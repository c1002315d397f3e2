#include "import/keepalived_translator.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "import/toml_text.hpp"
#include "import/translation_context.hpp"
#include "import/virtual_server_group.hpp"
#include "import/virtual_server_translation.hpp"
#include "import/vrrp_translation.hpp"

namespace vigil::import {

namespace {

// Top-level blocks vigil has nothing for, with what a reader should know.
std::string_view unsupported_block_reason(std::string_view keyword) {
    if (keyword == "static_ipaddress" || keyword == "static_routes" || keyword == "static_rules") {
        return "vigil manages only VIPs; configure static addresses and routes in the system";
    }
    if (keyword == "virtual_server_group") {
        return "vigil has no virtual server groups";
    }
    if (keyword == "vrrp_track_process" || keyword == "bfd_instance" || keyword == "garp_group") {
        return "no counterpart in vigil";
    }
    return "unknown block, skipped whole";
}

struct translator {
    explicit translator(const translate_options& o) : options(o) {}

    const translate_options& options;
    translation_context context{options.find_program};
    vrrp_defaults defaults;
    translation result;
    std::optional<std::string> node;
    std::map<std::string, const keepalived_statement*> server_groups;

    void global_defs(const keepalived_statement& block) {
        for (const auto& s : block.block) {
            const auto& k = s.keyword;
            if (k == "router_id") {
                if (auto value = context.argument(s)) {
                    node = *value;
                }
            } else if (k == "vrrp_version") {
                if (auto v = context.integer(s, 2, 3)) {
                    defaults.version = static_cast<unsigned>(*v);
                }
            } else if (k == "vrrp_garp_master_delay" || k == "vrrp_garp_master_repeat" ||
                       k == "vrrp_garp_master_refresh" || k == "vrrp_garp_master_refresh_repeat" ||
                       k == "vrrp_garp_interval") {
                defaults.garp[k.substr(5)] = &s;
            } else if (k == "lvs_sync_daemon") {
                if (s.arguments.size() >= 2) {
                    defaults.sync_daemon[s.arguments[1]] = &s;
                } else {
                    context.warn(s, "lvs_sync_daemon needs an interface and an instance: ignored");
                }
            } else if (k == "notification_email" || k == "notification_email_from" ||
                       k == "smtp_server" || k == "smtp_connect_timeout" || k == "smtp_helo_name" ||
                       k == "smtp_alert" || k == "smtp_alert_vrrp" || k == "smtp_alert_checker") {
                context.not_translated(s,
                                       "vigil has no e-mail alerts; an [[alert]] hook can "
                                       "send them");
            } else {
                context.not_translated(s);
            }
        }
    }

    void add_server(const keepalived_statement& s, const std::string& note,
                    std::set<std::string>& names, std::vector<translated_file>& servers) {
        if (auto vs = translate_virtual_server(s, names, context)) {
            std::string header = "Imported from " + s.where.file + ":" +
                                 std::to_string(s.where.line) + ": virtual_server";
            for (const auto& a : s.arguments) {
                header += " " + a;
            }
            toml_table_text head("");
            head.comment(header + note);
            servers.push_back({"conf.d/" + vs->name + ".toml", head.text() + vs->text});
            result.real_servers += vs->real_servers;
        }
    }

    // vigil has no groups: one virtual server per member, each with the group's body.
    void group(const keepalived_statement& s, std::set<std::string>& names,
               std::vector<translated_file>& servers) {
        const auto& name = s.arguments[1];
        auto found = server_groups.find(name);
        if (found == server_groups.end()) {
            context.warn(s, "virtual_server group " + name +
                                ": no virtual_server_group of that name: skipped");
            return;
        }
        auto members = expand_virtual_server_group(*found->second, context);
        for (const auto& member : members) {
            keepalived_statement copy = s;
            copy.arguments = member.arguments;
            if (!member.family.empty()) {
                copy.block.push_back({"ip_family", {member.family}, false, {}, member.where});
            }
            auto before = context.warning_count();
            add_server(copy,
                       "\nas a member of virtual_server group " + name +
                           " (vigil has no groups: each member is a virtual server of its own; "
                           "identical checks run once)",
                       names, servers);
            context.forget_repeated_warnings_from(before);
        }
        if (members.empty()) {
            context.warn(s, "virtual_server group " + name + " has no member vigil can use");
        }
    }

    void run(const std::vector<keepalived_statement>& statements) {
        for (const auto& s : statements) {
            if (s.keyword == "virtual_server_group" && !s.arguments.empty()) {
                server_groups.emplace(s.arguments[0], &s);
            }
        }
        for (const auto& s : statements) {
            if (s.keyword == "global_defs") {
                global_defs(s);
            } else if ((s.keyword == "vrrp_script" || s.keyword == "vrrp_track_file") &&
                       !s.arguments.empty()) {
                auto& table = s.keyword == "vrrp_script" ? defaults.scripts : defaults.track_files;
                if (!table.emplace(s.arguments[0], &s).second) {
                    context.warn(s, s.keyword + " " + s.arguments[0] +
                                        " is defined twice: the first is used");
                }
            }
        }
        vrrp_translation_state state;
        std::vector<std::string> instances;
        std::vector<std::string> groups;
        std::vector<translated_file> servers;
        std::set<std::string> names;
        std::set<std::string> grouped;
        for (const auto& s : statements) {
            if (s.keyword == "vrrp_instance") {
                if (auto text = translate_vrrp_instance(s, defaults, state, context)) {
                    instances.push_back(*text);
                }
            }
        }
        for (const auto& s : statements) {
            const auto& k = s.keyword;
            if (k == "global_defs" || k == "vrrp_instance" || k == "vrrp_script" ||
                k == "vrrp_track_file") {
                if (k != "global_defs" && s.arguments.empty()) {
                    context.warn(s, k + " without a name: skipped");
                }
            } else if (k == "vrrp_sync_group") {
                if (auto text = translate_vrrp_sync_group(s, state, grouped, context)) {
                    groups.push_back(*text);
                }
            } else if (k == "virtual_server" && s.arguments.size() == 2 &&
                       s.arguments[0] == "group") {
                group(s, names, servers);
            } else if (k == "virtual_server") {
                add_server(s, "", names, servers);
            } else if (k == "virtual_server_group") {
                bool used = std::any_of(statements.begin(), statements.end(), [&](const auto& x) {
                    return x.keyword == "virtual_server" && x.arguments.size() == 2 &&
                           x.arguments[0] == "group" && !s.arguments.empty() &&
                           x.arguments[1] == s.arguments[0];
                });
                if (!used) {
                    context.warn(s, "virtual_server_group is used by no virtual_server: skipped");
                }
            } else if (s.has_block) {
                context.warn(s, "'" + k + "' block is not translated: " +
                                    std::string(unsupported_block_reason(k)));
            } else {
                context.not_translated(s);
            }
        }
        result.vrrp_instances = instances.size();
        result.virtual_servers = servers.size();

        toml_table_text head("");
        head.comment("vigil configuration imported from " + options.source +
                     " by vigil import-keepalived.\n"
                     "Comments mark where vigil's meaning differs from keepalived's; check with: "
                     "vigil check -c vigil.toml");
        toml_table_text main("\n[global]");
        if (node) {
            main.set("node", toml_string(*node), "keepalived's router_id");
        }
        if (!servers.empty()) {
            main.set("include", "[\"conf.d/*.toml\"]");
        }
        std::string text = head.text() + main.text();
        for (const auto& instance : instances) {
            text += "\n" + instance;
        }
        for (const auto& group : groups) {
            text += "\n" + group;
        }
        result.files.push_back({"vigil.toml", text});
        for (auto& server : servers) {
            result.files.push_back(std::move(server));
        }
        result.warnings = context.take_warnings();
    }
};

}  // namespace

translation translate_keepalived(const std::vector<keepalived_statement>& statements,
                                 const translate_options& options) {
    translator t(options);
    t.run(statements);
    return std::move(t.result);
}

}  // namespace vigil::import
