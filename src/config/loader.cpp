#include "config/loader.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include "config/global_section.hpp"
#include "config/toml_prescan.hpp"
#include "config/toml_reader.hpp"
#include "config/value_rules.hpp"
#include "config/virtual_server_section.hpp"
#include "config/vrrp_section.hpp"

namespace vigil::config {
namespace {

// The base library's to_string overloads (addresses, families) beside this namespace's, which
// argument-dependent lookup still finds.
using vigil::to_string;

// Parses a file's TOML; a syntax error becomes a diagnostic at toml++'s position.
std::optional<toml::table> parse_toml(file_context& file, const std::string& text) {
    if (auto problem = prescan_toml(text)) {
        file.error(location{file.path(), problem->line, problem->column}, rule::toml_syntax,
                   problem->message);
        return std::nullopt;
    }
    try {
        return toml::parse(text, file.path());
    } catch (const toml::parse_error& e) {
        file.error(e.source(), rule::toml_syntax, std::string(e.description()));
        return std::nullopt;
    }
}

// Reads the files and hands each section to its reader; what spans files (includes, names that
// must be unique across them, the order of diagnostics) is decided here.
class loader {
  public:
    loader(std::string main_file, const file_source& files)
        : main_file_(std::move(main_file)), files_(&files) {}

    load_result run();

  private:
    void read_includes(file_context& main, const toml::array* patterns, configuration& config);
    void check_duplicates(const configuration& config);

    std::string main_file_;
    const file_source* files_;
    std::vector<diagnostic> diagnostics_;
    user_directory users_;
    // Files in the order they were read: diagnostics are sorted by it.
    std::vector<std::string> file_order_;
};

load_result loader::run() {
    load_result result;
    file_order_.push_back(main_file_);
    file_context main(main_file_, diagnostics_, users_);
    configuration config;
    config.main_file = main_file_;

    auto contents = files_->read(main_file_);
    if (!contents.text) {
        main.error(location{main_file_, 1, 1}, rule::unreadable_file,
                   "cannot read " + main_file_ + ": " + contents.error);
    } else if (auto root_table = parse_toml(main, *contents.text)) {
        table_reader root(main, *root_table, "");
        read_global(root, config);
        read_vrrp_instances(root, config);
        read_sync_groups(root, config);
        read_alerts(root, config);
        root.node("virtual_server");
        if (root.has("virtual_server")) {
            main.error(root.where("virtual_server"), rule::include_shape,
                       "virtual_server: a virtual server belongs in its own file, named by "
                       "global.include");
        }
        root.finish();
        const toml::array* include = nullptr;
        if (const auto* global = root_table->get_as<toml::table>("global")) {
            include = global->get_as<toml::array>("include");
        }
        read_includes(main, include, config);
        check_duplicates(config);
        // Only a config that is otherwise valid can be said to declare nothing: with errors, the
        // instances and virtual servers it meant to declare may be the ones refused.
        if (diagnostics_.empty() && config.vrrp_instances.empty() &&
            config.virtual_servers.empty()) {
            main.error(location{main_file_, 1, 1}, rule::nothing_to_run,
                       "declares no [[vrrp_instance]] and includes no [virtual_server]: nothing "
                       "to run");
        }
    }

    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [this](const diagnostic& a, const diagnostic& b) {
                         auto rank = [this](const std::string& file) {
                             return std::find(file_order_.begin(), file_order_.end(), file) -
                                    file_order_.begin();
                         };
                         auto ra = rank(a.where.file);
                         auto rb = rank(b.where.file);
                         if (ra != rb) {
                             return ra < rb;
                         }
                         if (a.where.line != b.where.line) {
                             return a.where.line < b.where.line;
                         }
                         return a.where.column < b.where.column;
                     });
    result.diagnostics = std::move(diagnostics_);
    if (result.diagnostics.empty()) {
        result.config = std::move(config);
    }
    return result;
}

void loader::read_includes(file_context& main, const toml::array* patterns, configuration& config) {
    if (!patterns) {
        return;
    }
    auto folder = std::filesystem::path(main_file_).parent_path();
    std::vector<std::string> seen;
    for (const auto& item : *patterns) {
        const auto* pattern = item.as_string();
        if (!pattern) {
            continue;  // reported with global
        }
        config.global.include.push_back(pattern->get());
        std::filesystem::path joined(pattern->get());
        if (joined.is_relative()) {
            joined = folder / joined;
        }
        auto matches = files_->glob(joined.string());
        if (matches.paths.empty() && matches.error.empty()) {
            main.error(item.source(), rule::include_no_match,
                       "global.include: " + in_quotes(pattern->get()) +
                           " matches no file (looked for " + joined.string() + ")");
        } else if (!matches.error.empty()) {
            main.error(item.source(), rule::unreadable_file,
                       "global.include: cannot search " + joined.string() + ": " + matches.error);
        } else {
            for (const auto& path : matches.paths) {
                if (std::find(seen.begin(), seen.end(), path) != seen.end()) {
                    continue;  // matched by an earlier glob too: one file, one virtual server
                }
                seen.push_back(path);
                auto contents = files_->read(path);
                if (!contents.text) {
                    main.error(item.source(), rule::unreadable_file,
                               "global.include: cannot read " + path + ": " + contents.error);
                    continue;
                }
                file_order_.push_back(path);
                file_context file(path, diagnostics_, users_);
                auto root = parse_toml(file, *contents.text);
                if (!root) {
                    continue;
                }
                table_reader reader(file, *root, "");
                const auto* node = reader.node("virtual_server");
                auto stem = std::filesystem::path(path).stem().string();
                if (!node) {
                    file.error(location{path, 1, 1}, rule::include_shape,
                               "an included file holds exactly one [virtual_server] table; this "
                               "one has none");
                } else if (const auto* table = node->as_table()) {
                    if (auto vs = read_virtual_server(file, *table, stem)) {
                        config.virtual_servers.push_back(std::move(*vs));
                    }
                } else if (const auto* array = node->as_array();
                           array && array->is_array_of_tables()) {
                    file.error(
                        array->size() > 1 ? (*array)[1].source() : node->source(),
                        rule::include_shape,
                        "an included file holds exactly one [virtual_server] table; put each "
                        "virtual server in its own file");
                } else {
                    reader.error("virtual_server", rule::wrong_type,
                                 "expected a table, got " + std::string(type_name(node->type())));
                }
                for (const auto& [key, value] : *root) {
                    if (key.str() == "global" || key.str() == "vrrp_instance") {
                        reader.node(key.str());
                        file.error(key.source(), rule::include_shape,
                                   std::string(key.str()) +
                                       ": belongs in the main file; an included file holds only "
                                       "[virtual_server]");
                    }
                }
                reader.finish();
            }
        }
    }
}

void loader::check_duplicates(const configuration& config) {
    std::map<std::string, location> names;
    std::map<std::tuple<std::string, int, address_family>, location> vrids;
    for (const auto& instance : config.vrrp_instances) {
        file_context file(instance.where.file, diagnostics_, users_);
        if (auto [it, inserted] = names.emplace(instance.name, instance.where); !inserted) {
            file.error(instance.where, rule::duplicate_instance_name,
                       "vrrp_instance: the name " + in_quotes(instance.name) + " is already used" +
                           first_at(it->second));
        }
        // RFC 5798: the VRID space is per address family on a link.
        auto key =
            std::make_tuple(instance.interface, int{instance.virtual_router_id}, instance.family());
        if (auto [it, inserted] = vrids.emplace(key, instance.where); !inserted) {
            file.error(instance.where, rule::duplicate_vrid,
                       "vrrp_instance " + in_quotes(instance.name) + ": virtual_router_id " +
                           std::to_string(instance.virtual_router_id) + " is already used for " +
                           std::string(to_string(instance.family())) + " on " + instance.interface +
                           first_at(it->second));
        }
    }
    // The kernel runs one master and one backup sync daemon: one instance may drive them.
    std::optional<location> sync_daemon_owner;
    for (const auto& instance : config.vrrp_instances) {
        if (!instance.sync_daemon) {
            continue;
        }
        if (sync_daemon_owner) {
            file_context(instance.where.file, diagnostics_, users_)
                .error(instance.where, rule::conflicting_keys,
                       "vrrp_instance " + in_quotes(instance.name) +
                           ": sync_daemon is already set on another instance; the kernel runs one "
                           "connection sync daemon" +
                           first_at(*sync_daemon_owner));
        } else {
            sync_daemon_owner = instance.where;
        }
    }
    std::map<std::string, location> services;
    std::map<std::string, location> vs_names;
    for (const auto& vs : config.virtual_servers) {
        file_context file(vs.where.file, diagnostics_, users_);
        if (auto [it, inserted] = vs_names.emplace(vs.name, vs.where); !inserted) {
            file.error(vs.where, rule::duplicate_virtual_server,
                       "virtual_server: the name " + in_quotes(vs.name) + " is already used" +
                           first_at(it->second));
        }
        if (auto [it, inserted] = services.emplace(vs.service_key(), vs.where); !inserted) {
            file.error(vs.where, rule::duplicate_virtual_server,
                       "virtual_server: " + vs.service_key() + " is already a virtual server" +
                           first_at(it->second));
        }
    }
    // Announcements: virtual servers sharing a prefix share one route, so they must agree on
    // what it carries; and BIRD protocol names (made of the first one's name) must not collide.
    std::map<std::string, const virtual_server*> by_prefix;
    std::map<std::string, const virtual_server*> by_protocol;
    for (const auto& vs : config.virtual_servers) {
        if (!vs.announce) {
            continue;
        }
        file_context file(vs.where.file, diagnostics_, users_);
        auto prefix = to_string(vs.announce->prefix);
        if (auto [it, inserted] = by_prefix.emplace(prefix, &vs); !inserted) {
            if (!(*it->second->announce == *vs.announce)) {
                file.error(vs.announce->where, rule::conflicting_keys,
                           "virtual_server.announce: " + prefix +
                               " is announced by virtual server " + in_quotes(it->second->name) +
                               " too, with another med, med_per_down_server or communities" +
                               first_at(it->second->announce->where));
            }
            continue;
        }
        auto protocol = announce::protocol_name(vs.name);
        if (auto [it, inserted] = by_protocol.emplace(protocol, &vs); !inserted) {
            file.error(vs.announce->where, rule::conflicting_keys,
                       "virtual_server.announce: the BIRD protocol name " + protocol + " of " +
                           in_quotes(vs.name) + " is also that of " + in_quotes(it->second->name) +
                           " (BIRD names keep only letters, digits and '_'); rename one" +
                           first_at(it->second->announce->where));
        }
    }
}

}  // namespace

load_result load_configuration(const std::string& main_file) {
    return load_configuration(main_file, filesystem_source());
}

load_result load_configuration(const std::string& main_file, const file_source& files) {
    return loader(main_file, files).run();
}

}  // namespace vigil::config
