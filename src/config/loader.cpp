#include "config/loader.hpp"

#include <glob.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/regex.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "checkers/dns_message.hpp"
#include "checkers/udp_probe.hpp"
#include "config/toml_reader.hpp"

namespace vigil::config {
namespace {

using namespace std::chrono_literals;
// The base library's to_string overloads (addresses, families) beside this namespace's, which
// argument-dependent lookup still finds.
using vigil::to_string;

constexpr std::size_t max_name_length = 64;

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > max_name_length) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

const std::string name_rule = "letters, digits, '_', '-' and '.', at most 64 characters";

// Linux interface names: IFNAMSIZ - 1 bytes, no '/', ':' or white space, not "." or "..".
bool valid_interface_name(std::string_view name) {
    if (name.empty() || name.size() > 15 || name == "." || name == "..") {
        return false;
    }
    return std::none_of(name.begin(), name.end(), [](char c) {
        return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
    });
}

// Text that goes into an HTTP request line or header must not smuggle in another header.
bool printable_without_space(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > ' ' && u != 0x7f;
    });
}

std::string in_quotes(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

struct read_outcome {
    std::optional<std::string> text;
    std::string error;
};

read_outcome read_whole_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return {std::nullopt, "is a directory"};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return {std::nullopt, std::strerror(errno)};
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        return {std::nullopt, std::strerror(errno)};
    }
    return {buffer.str(), {}};
}

// Parses a file's TOML; a syntax error becomes a diagnostic at toml++'s position.
std::optional<toml::table> parse_toml(file_context& file, const std::string& text) {
    try {
        return toml::parse(text, file.path());
    } catch (const toml::parse_error& e) {
        file.error(e.source(), rule::toml_syntax, std::string(e.description()));
        return std::nullopt;
    }
}

std::string first_at(const location& where) {
    return " (first at " + to_string(where) + ")";
}

class loader {
  public:
    explicit loader(std::string main_file) : main_file_(std::move(main_file)) {}

    load_result run();

  private:
    void read_global(table_reader& root, configuration& config);
    void read_log(file_context& file, const toml::table& table, log_settings& log);
    void read_ipvs(file_context& file, const toml::table& table, ipvs_settings& ipvs);
    void read_vrrp_instances(table_reader& root, configuration& config);
    std::optional<vrrp_instance> read_vrrp_instance(file_context& file, const toml::table& table,
                                                    const std::string& path);
    void read_includes(file_context& main, const toml::array* patterns, configuration& config);
    void read_virtual_server_file(const std::string& path, configuration& config);
    std::optional<virtual_server> read_virtual_server(file_context& file, const toml::table& table,
                                                      const std::string& stem);
    std::optional<real_server> read_real_server(file_context& file, const toml::table& table,
                                                const std::string& path, const virtual_server& vs);
    std::optional<check> read_check(file_context& file, const toml::table& table,
                                    const std::string& path);
    std::optional<ip_address> read_address(table_reader& reader, std::string_view key);
    // argv for a program run without a shell: non-empty strings, the program an absolute path.
    std::optional<std::vector<std::string>> read_argv(table_reader& reader, std::string_view key);
    std::optional<int> read_weight(table_reader& reader);
    void read_trackers(file_context& file, table_reader& reader, const std::string& path,
                       vrrp_instance& instance);
    void read_sync_groups(table_reader& root, configuration& config);
    void read_alerts(table_reader& root, configuration& config);
    std::optional<ip_endpoint> read_endpoint(table_reader& reader, std::string_view key);

    void check_duplicates(const configuration& config);

    std::string main_file_;
    std::vector<diagnostic> diagnostics_;
    // Files in the order they were read: diagnostics are sorted by it.
    std::vector<std::string> file_order_;
};

std::optional<ip_address> loader::read_address(table_reader& reader, std::string_view key) {
    auto text = reader.string(key);
    if (!text) {
        return std::nullopt;
    }
    auto address = parse_address(*text);
    if (!address) {
        reader.error(key, rule::bad_address, address.error());
        return std::nullopt;
    }
    return *address;
}

std::optional<std::vector<std::string>> loader::read_argv(table_reader& reader,
                                                          std::string_view key) {
    const auto* array = reader.array(key);
    if (!array) {
        return std::nullopt;
    }
    std::vector<std::string> argv;
    bool ok = true;
    for (const auto& item : *array) {
        if (const auto* arg = item.as_string()) {
            argv.push_back(arg->get());
        } else {
            reader.error_at(
                item, key, rule::wrong_type,
                "expected argument strings, got " + std::string(type_name(item.type())));
            ok = false;
        }
    }
    if (array->empty()) {
        reader.error(key, rule::missing_key, "is empty: give the program and its arguments");
        return std::nullopt;
    }
    if (!argv.empty() && (argv.front().empty() || argv.front().front() != '/')) {
        reader.error(key, rule::bad_value,
                     in_quotes(argv.front()) +
                         " is not an absolute path: a daemon's PATH is not "
                         "the operator's");
        return std::nullopt;
    }
    return ok ? std::optional(argv) : std::nullopt;
}

std::optional<int> loader::read_weight(table_reader& reader) {
    if (auto weight = reader.integer("weight", -253, 253)) {
        return static_cast<int>(*weight);
    }
    return std::nullopt;
}

void loader::read_trackers(file_context& file, table_reader& reader, const std::string& path,
                           vrrp_instance& instance) {
    // Each tracker list is an array of inline tables; a track_interface entry may also be a bare
    // interface name (weight 0).
    auto tables = [&](std::string_view key, auto&& each) {
        const auto* array = reader.array(key);
        if (!array) {
            return;
        }
        std::size_t index = 0;
        for (const auto& item : *array) {
            auto item_path = path + "." + std::string(key) + "[" + std::to_string(index++) + "]";
            each(item, item_path);
        }
    };
    tables("track_interface", [&](const toml::node& item, const std::string& item_path) {
        tracked_interface t;
        if (const auto* bare = item.as_string()) {
            t.name = bare->get();
        } else if (const auto* table = item.as_table()) {
            table_reader r(file, *table, item_path);
            r.require("name");
            if (auto name = r.string("name")) {
                t.name = *name;
            }
            if (auto weight = read_weight(r)) {
                t.weight = *weight;
            }
            r.finish();
        } else {
            reader.error_at(item, "track_interface", rule::wrong_type,
                            "expected an interface name or { name, weight }, got " +
                                std::string(type_name(item.type())));
            return;
        }
        if (!t.name.empty() && !valid_interface_name(t.name)) {
            file.error(item.source(), rule::bad_value,
                       item_path + ": " + in_quotes(t.name) + " is not a valid interface name");
            return;
        }
        if (!t.name.empty()) {
            instance.track_interface.push_back(t);
        }
    });
    tables("track_script", [&](const toml::node& item, const std::string& item_path) {
        const auto* table = item.as_table();
        if (!table) {
            reader.error_at(
                item, "track_script", rule::wrong_type,
                "expected { name, command, ... }, got " + std::string(type_name(item.type())));
            return;
        }
        table_reader r(file, *table, item_path);
        tracked_script t;
        r.require("name");
        if (auto name = r.string("name")) {
            if (valid_name(*name)) {
                t.name = *name;
            } else {
                r.error("name", rule::bad_value,
                        in_quotes(*name) + " is not a valid name (" + name_rule + ")");
            }
        }
        r.require("command");
        if (auto argv = read_argv(r, "command")) {
            t.command = *argv;
        }
        if (auto interval = r.duration_value("interval", 100ms, 1h)) {
            t.interval = *interval;
        }
        t.timeout = t.interval;
        if (auto timeout = r.duration_value("timeout", 10ms, 1h)) {
            if (*timeout > t.interval) {
                r.error("timeout", rule::out_of_range,
                        format_duration(*timeout) + " is longer than the interval " +
                            format_duration(t.interval));
            } else {
                t.timeout = *timeout;
            }
        }
        if (auto rise = r.integer("rise", 1, 1000)) {
            t.rise = static_cast<unsigned>(*rise);
        }
        if (auto fall = r.integer("fall", 1, 1000)) {
            t.fall = static_cast<unsigned>(*fall);
        }
        if (auto weight = read_weight(r)) {
            t.weight = *weight;
        }
        if (auto user = r.string("user")) {
            if (::getpwnam(user->c_str()) == nullptr) {
                r.error("user", rule::bad_value, "no such user " + in_quotes(*user));
            } else {
                t.user = *user;
            }
        }
        r.finish();
        for (const auto& other : instance.track_script) {
            if (other.name == t.name && !t.name.empty()) {
                r.error("name", rule::bad_value, in_quotes(t.name) + " is tracked twice");
            }
        }
        instance.track_script.push_back(std::move(t));
    });
    tables("track_file", [&](const toml::node& item, const std::string& item_path) {
        const auto* table = item.as_table();
        if (!table) {
            reader.error_at(
                item, "track_file", rule::wrong_type,
                "expected { path, weight }, got " + std::string(type_name(item.type())));
            return;
        }
        table_reader r(file, *table, item_path);
        tracked_file t;
        r.require("path");
        if (auto file_path = r.string("path")) {
            if (file_path->empty() || file_path->front() != '/') {
                r.error("path", rule::bad_value, "must be an absolute path");
            } else {
                t.path = *file_path;
            }
        }
        if (auto weight = read_weight(r)) {
            t.weight = *weight;
        }
        r.finish();
        instance.track_file.push_back(std::move(t));
    });
}

std::optional<ip_endpoint> loader::read_endpoint(table_reader& reader, std::string_view key) {
    auto text = reader.string(key);
    if (!text) {
        return std::nullopt;
    }
    auto endpoint = parse_endpoint(*text);
    if (!endpoint) {
        reader.error(key, rule::bad_address, endpoint.error());
        return std::nullopt;
    }
    return *endpoint;
}

load_result loader::run() {
    load_result result;
    file_order_.push_back(main_file_);
    file_context main(main_file_, diagnostics_);
    configuration config;
    config.main_file = main_file_;

    auto contents = read_whole_file(main_file_);
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

void loader::read_global(table_reader& root, configuration& config) {
    auto& global = config.global;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) {
        global.node = host;
    }
    const auto* table = root.table("global");
    if (!table) {
        return;
    }
    table_reader reader(root.file(), *table, "global");
    if (auto node = reader.string("node")) {
        if (node->empty()) {
            reader.error("node", rule::bad_value, "must not be empty");
        } else {
            global.node = *node;
        }
    }
    if (const auto* include = reader.array("include")) {
        for (const auto& item : *include) {
            if (!item.is_string()) {
                reader.error_at(
                    item, "include", rule::wrong_type,
                    "expected a glob string, got " + std::string(type_name(item.type())));
            }
        }
    }
    if (const auto* log = reader.table("log")) {
        read_log(root.file(), *log, global.log);
    }
    if (auto dir = reader.string("state_dir")) {
        if (dir->empty() || dir->front() != '/') {
            reader.error("state_dir", rule::bad_value, "must be an absolute path");
        } else {
            global.state_dir = *dir;
        }
    }
    if (auto threshold = reader.integer("flap_threshold", 0, 1000)) {
        global.flap_threshold = static_cast<unsigned>(*threshold);
    }
    if (auto window = reader.duration_value("flap_window", 1s, 24h)) {
        global.flap_window = *window;
    }
    if (const auto* ipvs_table = reader.table("ipvs")) {
        read_ipvs(root.file(), *ipvs_table, global.ipvs);
    }
    if (auto socket = reader.string("control_socket")) {
        // sun_path holds 108 bytes including the terminating NUL.
        if (socket->empty() || socket->front() != '/') {
            reader.error("control_socket", rule::bad_value, "must be an absolute path");
        } else if (socket->size() > 107) {
            reader.error("control_socket", rule::out_of_range,
                         "is longer than the 107 bytes a unix socket path can hold");
        } else {
            global.control_socket = *socket;
        }
    }
    reader.finish();
}

void loader::read_log(file_context& file, const toml::table& table, log_settings& log) {
    table_reader reader(file, table, "global.log");
    if (auto target = reader.string("target")) {
        if (*target == "stderr" || *target == "syslog" ||
            (!target->empty() && target->front() == '/')) {
            log.target = *target;
        } else {
            reader.error("target", rule::bad_value,
                         in_quotes(*target) + " is not stderr, syslog or an absolute file path");
        }
    }
    if (auto format = reader.string("format")) {
        if (*format == "auto") {
            log.format = log_format_choice::automatic;
        } else if (*format == "json") {
            log.format = log_format_choice::json;
        } else if (*format == "text") {
            log.format = log_format_choice::text;
        } else {
            reader.error("format", rule::bad_value,
                         in_quotes(*format) + " is not auto, json or text");
        }
    }
    if (auto level = reader.string("level")) {
        auto parsed = parse_log_level(*level);
        if (parsed) {
            log.level = *parsed;
        } else {
            reader.error("level", rule::bad_value, parsed.error());
        }
    }
    reader.finish();
}

void loader::read_ipvs(file_context& file, const toml::table& table, ipvs_settings& ipvs) {
    table_reader reader(file, table, "global.ipvs");
    if (auto backend = reader.string("backend")) {
        if (*backend == "netlink" || *backend == "memory") {
            ipvs.backend =
                *backend == "netlink" ? ipvs_backend_choice::netlink : ipvs_backend_choice::memory;
        } else {
            reader.error("backend", rule::bad_value,
                         in_quotes(*backend) + " is not netlink or memory");
        }
    }
    if (auto interval = reader.duration_value("resync_interval", 0ms, 24h)) {
        if (interval->count() > 0 && *interval < 1s) {
            reader.error(
                "resync_interval", rule::out_of_range,
                format_duration(*interval) + " is out of range (0 for never, or 1s to 24h)");
        } else {
            ipvs.resync_interval = *interval;
        }
    }
    if (auto action = reader.string("on_shutdown")) {
        if (*action == "keep" || *action == "remove") {
            ipvs.on_shutdown = *action == "keep" ? shutdown_action::keep : shutdown_action::remove;
        } else {
            reader.error("on_shutdown", rule::bad_value,
                         in_quotes(*action) + " is not keep or remove");
        }
    }
    reader.finish();
}

void loader::read_alerts(table_reader& root, configuration& config) {
    const auto* node = root.node("alert");
    if (!node) {
        return;
    }
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        root.error("alert", rule::wrong_type,
                   "expected [[alert]] tables, got " + std::string(type_name(node->type())));
        return;
    }
    std::size_t index = 0;
    for (const auto& item : *array) {
        table_reader reader(root.file(), *item.as_table(),
                            "alert[" + std::to_string(index++) + "]");
        alert a;
        reader.require("events");
        if (const auto* events = reader.array("events")) {
            for (const auto& e : *events) {
                if (const auto* name = e.as_string(); name && !name->get().empty()) {
                    a.events.push_back(name->get());
                } else {
                    reader.error_at(e, "events", rule::wrong_type,
                                    "expected event names (\"vrrp.transition\", \"real_server.*\", "
                                    "\"*\")");
                }
            }
            if (events->empty()) {
                reader.error("events", rule::missing_key, "lists no event");
            }
        }
        if (auto argv = read_argv(reader, "command")) {
            a.command = *argv;
        }
        if (auto url = reader.string("url")) {
            if (url->starts_with("http://") || url->starts_with("https://")) {
                a.url = *url;
            } else {
                reader.error("url", rule::bad_value,
                             in_quotes(*url) + " is not an http:// or https:// URL");
            }
        }
        if (reader.has("command") == reader.has("url")) {
            root.file().error(
                item.source(), rule::conflicting_keys,
                reader.key_path("command") +
                    ": an alert runs a command or POSTs to a url, exactly one of them");
        }
        if (auto timeout = reader.duration_value("timeout", 100ms, 5min)) {
            a.timeout = *timeout;
        }
        if (auto retries = reader.integer("retries", 0, 10)) {
            a.retries = static_cast<unsigned>(*retries);
        }
        reader.finish();
        config.alerts.push_back(std::move(a));
    }
}

void loader::read_sync_groups(table_reader& root, configuration& config) {
    const auto* node = root.node("vrrp_sync_group");
    if (!node) {
        return;
    }
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        root.error(
            "vrrp_sync_group", rule::wrong_type,
            "expected [[vrrp_sync_group]] tables, got " + std::string(type_name(node->type())));
        return;
    }
    std::map<std::string, location> member_of;
    std::map<std::string, location> names;
    std::size_t index = 0;
    for (const auto& item : *array) {
        auto path = "vrrp_sync_group[" + std::to_string(index++) + "]";
        table_reader reader(root.file(), *item.as_table(), path);
        vrrp_sync_group group;
        group.where = root.file().at(item.source());
        reader.require("name");
        if (auto name = reader.string("name")) {
            if (!valid_name(*name)) {
                reader.error("name", rule::bad_value,
                             in_quotes(*name) + " is not a valid name (" + name_rule + ")");
            } else if (auto [it, inserted] = names.emplace(*name, group.where); !inserted) {
                reader.error("name", rule::duplicate_instance_name,
                             "the group name " + in_quotes(*name) + " is already used" +
                                 first_at(it->second));
            } else {
                group.name = *name;
            }
        }
        reader.require("instances");
        if (const auto* members = reader.array("instances")) {
            for (const auto& member : *members) {
                const auto* name = member.as_string();
                if (!name) {
                    reader.error_at(
                        member, "instances", rule::wrong_type,
                        "expected instance names, got " + std::string(type_name(member.type())));
                    continue;
                }
                bool exists =
                    std::any_of(config.vrrp_instances.begin(), config.vrrp_instances.end(),
                                [&](const vrrp_instance& i) { return i.name == name->get(); });
                if (!exists) {
                    reader.error_at(member, "instances", rule::bad_value,
                                    "no vrrp_instance is named " + in_quotes(name->get()));
                } else if (auto [it, inserted] =
                               member_of.emplace(name->get(), root.file().at(member.source()));
                           !inserted) {
                    reader.error_at(member, "instances", rule::conflicting_keys,
                                    in_quotes(name->get()) + " is already in a sync group" +
                                        first_at(it->second));
                } else {
                    group.instances.push_back(name->get());
                }
            }
            if (members->size() < 2) {
                reader.error("instances", rule::missing_key,
                             "a sync group needs at least two instances");
            }
        }
        reader.finish();
        config.vrrp_sync_groups.push_back(std::move(group));
    }
}

void loader::read_vrrp_instances(table_reader& root, configuration& config) {
    const auto* node = root.node("vrrp_instance");
    if (!node) {
        return;
    }
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        root.error(
            "vrrp_instance", rule::wrong_type,
            "expected [[vrrp_instance]] tables, got " + std::string(type_name(node->type())));
        return;
    }
    std::size_t index = 0;
    for (const auto& item : *array) {
        auto path = "vrrp_instance[" + std::to_string(index++) + "]";
        if (auto instance = read_vrrp_instance(root.file(), *item.as_table(), path)) {
            config.vrrp_instances.push_back(std::move(*instance));
        }
    }
}

std::optional<vrrp_instance> loader::read_vrrp_instance(file_context& file,
                                                        const toml::table& table,
                                                        const std::string& path) {
    auto errors_before = diagnostics_.size();
    table_reader reader(file, table, path);
    vrrp_instance instance;
    instance.where = file.at(table.source());

    reader.require("name");
    if (auto name = reader.string("name")) {
        if (valid_name(*name)) {
            instance.name = *name;
        } else {
            reader.error("name", rule::bad_value,
                         in_quotes(*name) + " is not a valid name (" + name_rule + ")");
        }
    }
    reader.require("interface");
    if (auto interface = reader.string("interface")) {
        if (valid_interface_name(*interface)) {
            instance.interface = *interface;
        } else {
            reader.error("interface", rule::bad_value,
                         in_quotes(*interface) +
                             " is not a valid interface name (1 to 15 bytes, "
                             "no '/', ':' or white space)");
        }
    }
    reader.require("virtual_router_id");
    if (auto vrid = reader.integer("virtual_router_id", 1, 255)) {
        instance.virtual_router_id = static_cast<std::uint8_t>(*vrid);
    }
    if (auto priority = reader.integer("priority", 1, 255)) {
        instance.priority = static_cast<std::uint8_t>(*priority);
    }
    bool version_ok = true;
    if (const auto* n = reader.node("version")) {
        auto v = n->as_integer();
        if (!v) {
            reader.error("version", rule::wrong_type,
                         "expected 2 or 3, got " + std::string(type_name(n->type())));
            version_ok = false;
        } else if (v->get() == 2 || v->get() == 3) {
            instance.version =
                v->get() == 2 ? vrrp::protocol_version::v2 : vrrp::protocol_version::v3;
        } else {
            reader.error("version", rule::out_of_range,
                         std::to_string(v->get()) + " is not a VRRP version (2 or 3)");
            version_ok = false;
        }
    }
    if (auto interval = reader.duration_value("advert_interval", 0ms, 24h)) {
        if (!version_ok) {
            // The interval's limits depend on the version; without one, nothing to check against.
        } else if (auto why = vrrp::advert_interval_error(instance.version, *interval)) {
            reader.error("advert_interval", rule::advert_interval, *why);
        } else {
            instance.advert_interval = *interval;
        }
    }

    reader.require("virtual_ipaddress");
    if (const auto* vips = reader.array("virtual_ipaddress")) {
        if (vips->empty()) {
            reader.error("virtual_ipaddress", rule::missing_key, "lists no address");
        }
        for (const auto& item : *vips) {
            const auto* text = item.as_string();
            if (!text) {
                reader.error_at(item, "virtual_ipaddress", rule::wrong_type,
                                "expected an address/prefix string, got " +
                                    std::string(type_name(item.type())));
                continue;
            }
            auto prefix = parse_prefix(text->get());
            if (!prefix) {
                reader.error_at(item, "virtual_ipaddress", rule::bad_address, prefix.error());
                continue;
            }
            if (!instance.virtual_ipaddress.empty() &&
                prefix->family() != instance.virtual_ipaddress.front().family()) {
                reader.error_at(
                    item, "virtual_ipaddress", rule::family_mismatch,
                    in_quotes(text->get()) + " is " + std::string(to_string(prefix->family())) +
                        " but the instance's first address is " +
                        std::string(to_string(instance.virtual_ipaddress.front().family())) +
                        ": one instance serves one address family");
                continue;
            }
            if (version_ok && prefix->family() == address_family::ipv6 &&
                instance.version == vrrp::protocol_version::v2) {
                reader.error_at(item, "virtual_ipaddress", rule::family_mismatch,
                                in_quotes(text->get()) +
                                    " is IPv6, which VRRPv2 cannot carry: set version = 3");
                continue;
            }
            auto same_address = [&](const ip_prefix& p) { return p.address == prefix->address; };
            if (std::any_of(instance.virtual_ipaddress.begin(), instance.virtual_ipaddress.end(),
                            same_address)) {
                reader.error_at(item, "virtual_ipaddress", rule::bad_value,
                                in_quotes(text->get()) + " is listed twice");
                continue;
            }
            instance.virtual_ipaddress.push_back(*prefix);
        }
    }
    auto family_matches = [&](const ip_address& a) {
        return instance.virtual_ipaddress.empty() ||
               family_of(a) == instance.virtual_ipaddress.front().family();
    };
    auto family_message = [&](const ip_address& a) {
        return to_string(a) + " is " + std::string(to_string(family_of(a))) +
               " but the virtual addresses are " +
               std::string(to_string(instance.virtual_ipaddress.front().family()));
    };
    if (auto source = read_address(reader, "unicast_source")) {
        if (!family_matches(*source)) {
            reader.error("unicast_source", rule::family_mismatch, family_message(*source));
        } else {
            instance.unicast_source = *source;
        }
    }
    if (const auto* peers = reader.array("unicast_peers")) {
        for (const auto& item : *peers) {
            const auto* text = item.as_string();
            if (!text) {
                reader.error_at(
                    item, "unicast_peers", rule::wrong_type,
                    "expected an address string, got " + std::string(type_name(item.type())));
                continue;
            }
            auto address = parse_address(text->get());
            if (!address) {
                reader.error_at(item, "unicast_peers", rule::bad_address, address.error());
            } else if (!family_matches(*address)) {
                reader.error_at(item, "unicast_peers", rule::family_mismatch,
                                family_message(*address));
            } else if (std::find(instance.unicast_peers.begin(), instance.unicast_peers.end(),
                                 *address) != instance.unicast_peers.end()) {
                reader.error_at(item, "unicast_peers", rule::bad_value,
                                in_quotes(text->get()) + " is listed twice");
            } else {
                instance.unicast_peers.push_back(*address);
            }
        }
        if (peers->empty()) {
            reader.error("unicast_peers", rule::missing_key,
                         "lists no peer: leave it out for multicast adverts");
        }
    }
    if (reader.has("unicast_source") && !reader.has("unicast_peers")) {
        reader.error("unicast_source", rule::conflicting_keys,
                     "has no effect without unicast_peers (adverts go to the multicast group)");
    }
    if (auto pass = reader.string("auth_pass")) {
        if (pass->empty() || pass->size() > 8) {
            reader.error("auth_pass", rule::out_of_range,
                         "must be 1 to 8 bytes (the VRRPv2 authentication field), got " +
                             std::to_string(pass->size()));
        } else if (version_ok && instance.version == vrrp::protocol_version::v3) {
            reader.error("auth_pass", rule::conflicting_keys,
                         "VRRPv3 has no authentication (RFC 5798): remove it or set version = 2");
        } else {
            instance.auth_pass = *pass;
        }
    }
    if (auto preempt = reader.boolean("preempt")) {
        instance.preempt = *preempt;
    }
    if (auto delay = reader.duration_value("preempt_delay", 0ms, 1000s)) {
        if (!instance.preempt && delay->count() > 0) {
            reader.error("preempt_delay", rule::conflicting_keys,
                         "has no effect with preempt = false");
        } else {
            instance.preempt_delay = *delay;
        }
    }
    if (auto delay = reader.duration_value("garp_master_delay", 0ms, 1h)) {
        instance.garp.master_delay = *delay;
    }
    if (auto repeat = reader.integer("garp_master_repeat", 1, 255)) {
        instance.garp.master_repeat = static_cast<unsigned>(*repeat);
    }
    if (auto refresh = reader.duration_value("garp_master_refresh", 0ms, 24h)) {
        instance.garp.master_refresh = *refresh;
    }
    if (auto repeat = reader.integer("garp_master_refresh_repeat", 1, 255)) {
        instance.garp.master_refresh_repeat = static_cast<unsigned>(*repeat);
    }
    if (auto interval = reader.duration_value("garp_interval", 0ms, 1s)) {
        instance.garp.interval = *interval;
    }
    if (const auto* sync = reader.table("sync_daemon")) {
        table_reader sync_reader(file, *sync, path + ".sync_daemon");
        vrrp_instance::sync_daemon_settings settings;
        settings.interface = instance.interface;
        settings.id = instance.virtual_router_id;
        if (auto interface = sync_reader.string("interface")) {
            if (valid_interface_name(*interface)) {
                settings.interface = *interface;
            } else {
                sync_reader.error("interface", rule::bad_value,
                                  in_quotes(*interface) + " is not a valid interface name");
            }
        }
        if (auto id = sync_reader.integer("id", 0, 255)) {
            settings.id = static_cast<std::uint8_t>(*id);
        }
        sync_reader.finish();
        instance.sync_daemon = settings;
    }
    read_trackers(file, reader, path, instance);
    for (auto [key, target] : {std::pair{"notify", &instance.notify.any},
                               std::pair{"notify_master", &instance.notify.master},
                               std::pair{"notify_backup", &instance.notify.backup},
                               std::pair{"notify_fault", &instance.notify.fault},
                               std::pair{"notify_stop", &instance.notify.stop}}) {
        if (auto argv = read_argv(reader, key)) {
            *target = *argv;
        }
    }
    if (auto timeout = reader.duration_value("notify_timeout", 100ms, 1h)) {
        instance.notify.timeout = *timeout;
    }
    if (auto vmac = reader.boolean("use_vmac")) {
        instance.use_vmac = *vmac;
    }
    if (auto name = reader.string("vmac_name")) {
        if (!valid_interface_name(*name)) {
            reader.error("vmac_name", rule::bad_value,
                         in_quotes(*name) + " is not a valid interface name");
        } else if (!instance.use_vmac) {
            reader.error("vmac_name", rule::conflicting_keys,
                         "has no effect without use_vmac = true");
        } else {
            instance.vmac_name = *name;
        }
    }
    reader.finish();
    if (diagnostics_.size() != errors_before) {
        return std::nullopt;
    }
    return instance;
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
        glob_t matches{};
        errno = 0;
        int rc = ::glob(joined.c_str(), GLOB_ERR, nullptr, &matches);
        // A folder in the pattern that does not exist is as much "no match" as an empty one.
        if (rc == GLOB_NOMATCH || (rc == GLOB_ABORTED && (errno == ENOENT || errno == ENOTDIR))) {
            main.error(item.source(), rule::include_no_match,
                       "global.include: " + in_quotes(pattern->get()) +
                           " matches no file (looked for " + joined.string() + ")");
        } else if (rc != 0) {
            main.error(
                item.source(), rule::unreadable_file,
                "global.include: cannot search " + joined.string() + ": " + std::strerror(errno));
        } else {
            // glob(3) sorts its matches, so files load in a stable, documented order.
            for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
                std::string path = matches.gl_pathv[i];
                if (std::find(seen.begin(), seen.end(), path) != seen.end()) {
                    continue;  // matched by an earlier glob too: one file, one virtual server
                }
                seen.push_back(path);
                auto contents = read_whole_file(path);
                if (!contents.text) {
                    main.error(item.source(), rule::unreadable_file,
                               "global.include: cannot read " + path + ": " + contents.error);
                    continue;
                }
                file_order_.push_back(path);
                file_context file(path, diagnostics_);
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
        ::globfree(&matches);
    }
}

std::optional<virtual_server> loader::read_virtual_server(file_context& file,
                                                          const toml::table& table,
                                                          const std::string& stem) {
    auto errors_before = diagnostics_.size();
    table_reader reader(file, table, "virtual_server");
    virtual_server vs;
    vs.where = file.at(table.source());

    if (auto name = reader.string("name")) {
        if (valid_name(*name)) {
            vs.name = *name;
        } else {
            reader.error("name", rule::bad_value,
                         in_quotes(*name) + " is not a valid name (" + name_rule + ")");
        }
    } else if (!reader.has("name")) {
        if (valid_name(stem)) {
            vs.name = stem;
        } else {
            file.error(table.source(), rule::bad_value,
                       "virtual_server: the file name " + in_quotes(stem) +
                           " is not a valid name (" + name_rule + "): set name");
        }
    }

    if (!reader.has("address") && !reader.has("fwmark")) {
        file.error(table.source(), rule::missing_key,
                   "virtual_server: missing required key \"address\" (or \"fwmark\")");
    }
    if (reader.has("address") && reader.has("fwmark")) {
        reader.error("fwmark", rule::conflicting_keys,
                     "a virtual server is an address or a firewall mark, not both");
    }
    if (auto address = read_endpoint(reader, "address")) {
        if (address->port == 0) {
            reader.error("address", rule::out_of_range,
                         "port 0 is not a service port (1 to 65535); use fwmark for port ranges");
        } else {
            vs.address = *address;
            vs.family = address->family();
        }
    }
    if (auto mark = reader.integer("fwmark", 1, 0xffffffff)) {
        vs.fwmark = static_cast<std::uint32_t>(*mark);
    }
    std::optional<address_family> declared_family;
    if (auto family = reader.string("family")) {
        if (*family == "ipv4" || *family == "ipv6") {
            declared_family = *family == "ipv6" ? address_family::ipv6 : address_family::ipv4;
            if (reader.has("address")) {
                reader.error("family", rule::conflicting_keys,
                             "applies only to fwmark services; the address gives the family");
            } else {
                vs.family = *declared_family;
            }
        } else {
            reader.error("family", rule::bad_value, in_quotes(*family) + " is not ipv4 or ipv6");
        }
    }
    if (auto protocol = reader.string("protocol")) {
        if (auto parsed = ipvs::parse_name(*protocol, ipvs::all_protocols)) {
            vs.protocol = *parsed;
        } else {
            reader.error("protocol", rule::bad_value,
                         in_quotes(*protocol) + " is not tcp, udp or sctp");
        }
        if (reader.has("fwmark")) {
            reader.error("protocol", rule::conflicting_keys,
                         "a fwmark service matches packets by mark, whatever their protocol");
        }
    }
    if (auto scheduler = reader.string("scheduler")) {
        if (auto parsed = ipvs::parse_name(*scheduler, ipvs::all_schedulers)) {
            vs.scheduler = *parsed;
        } else {
            reader.error("scheduler", rule::bad_value,
                         in_quotes(*scheduler) +
                             " is not an IPVS scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq fo "
                             "ovf mh)");
        }
    }
    if (const auto* flags = reader.array("scheduler_flags")) {
        for (const auto& item : *flags) {
            const auto* flag = item.as_string();
            if (!flag) {
                reader.error_at(item, "scheduler_flags", rule::wrong_type,
                                "expected a flag name, got " + std::string(type_name(item.type())));
                continue;
            }
            const auto& name = flag->get();
            bool known = name == "sh-fallback" || name == "sh-port" || name == "mh-fallback" ||
                         name == "mh-port";
            if (!known) {
                reader.error_at(item, "scheduler_flags", rule::bad_value,
                                in_quotes(name) +
                                    " is not a scheduler flag (sh-fallback, sh-port, "
                                    "mh-fallback, mh-port)");
            } else if (name.substr(0, 2) != ipvs::to_string(vs.scheduler)) {
                reader.error_at(item, "scheduler_flags", rule::conflicting_keys,
                                in_quotes(name) + " applies only to the " + name.substr(0, 2) +
                                    " scheduler, not " +
                                    std::string(ipvs::to_string(vs.scheduler)));
            } else if (std::find(vs.scheduler_flags.begin(), vs.scheduler_flags.end(), name) !=
                       vs.scheduler_flags.end()) {
                reader.error_at(item, "scheduler_flags", rule::bad_value,
                                in_quotes(name) + " is listed twice");
            } else {
                vs.scheduler_flags.push_back(name);
            }
        }
    }
    if (auto forwarding = reader.string("forwarding")) {
        if (auto parsed = ipvs::parse_name(*forwarding, ipvs::all_forwardings)) {
            vs.forwarding = *parsed;
        } else {
            reader.error("forwarding", rule::bad_value,
                         in_quotes(*forwarding) + " is not nat, dr or tun");
        }
    }
    if (auto one_packet = reader.boolean("one_packet")) {
        if (*one_packet && (reader.has("fwmark") || vs.protocol != ipvs::protocol::udp)) {
            reader.error("one_packet", rule::conflicting_keys,
                         "one-packet scheduling applies only to protocol = \"udp\" services");
        } else {
            vs.one_packet = *one_packet;
        }
    }
    // The kernel keeps the timeout in jiffies in 32 bits; 30 days is far inside that at any HZ.
    if (auto timeout =
            reader.duration_value("persistence_timeout", 0ms, std::chrono::hours(24 * 30))) {
        if (timeout->count() % 1000 != 0) {
            reader.error("persistence_timeout", rule::bad_duration,
                         "IPVS keeps persistence in whole seconds: " + format_duration(*timeout) +
                             " is not");
        } else {
            vs.persistence_timeout = *timeout;
        }
    }
    if (const auto* mask = reader.node("persistence_netmask")) {
        unsigned max_length = vs.family == address_family::ipv6 ? 128 : 32;
        if (const auto* length = mask->as_integer()) {
            if (length->get() < 0 || length->get() > max_length) {
                reader.error("persistence_netmask", rule::out_of_range,
                             std::to_string(length->get()) + " is out of range (0 to " +
                                 std::to_string(max_length) + " for " +
                                 std::string(to_string(vs.family)) + ")");
            } else {
                vs.persistence_netmask = static_cast<unsigned>(length->get());
            }
        } else if (const auto* dotted = mask->as_string()) {
            auto address = parse_address(dotted->get());
            unsigned ones = 0;
            bool contiguous = false;
            if (address && address->is_v4()) {
                auto bits = address->to_v4().to_uint();
                ones = static_cast<unsigned>(__builtin_popcount(bits));
                contiguous = ones == 0 || bits == (0xffffffffu << (32 - ones));
            }
            if (!contiguous || vs.family == address_family::ipv6) {
                reader.error("persistence_netmask", rule::bad_address,
                             in_quotes(dotted->get()) +
                                 " is not a contiguous IPv4 netmask; write a prefix length");
            } else {
                vs.persistence_netmask = ones;
            }
        } else {
            reader.error("persistence_netmask", rule::wrong_type,
                         "expected a prefix length or an IPv4 netmask, got " +
                             std::string(type_name(mask->type())));
        }
        if (!reader.has("persistence_timeout")) {
            reader.error("persistence_netmask", rule::conflicting_keys,
                         "has no effect without persistence_timeout");
        }
    }
    if (auto quorum = reader.integer("quorum", 0, 0xffffffffLL)) {
        vs.quorum = static_cast<std::uint64_t>(*quorum);
    }
    if (auto hysteresis = reader.integer("hysteresis", 0, 0xffffffffLL)) {
        if (static_cast<std::uint64_t>(*hysteresis) > vs.quorum) {
            reader.error(
                "hysteresis", rule::out_of_range,
                std::to_string(*hysteresis) + " exceeds the quorum " + std::to_string(vs.quorum));
        } else {
            vs.hysteresis = static_cast<std::uint64_t>(*hysteresis);
        }
    }
    if (auto action = reader.string("on_failure")) {
        if (*action == "remove" || *action == "inhibit") {
            vs.on_failure = *action == "remove" ? failure_action::remove : failure_action::inhibit;
        } else {
            reader.error("on_failure", rule::bad_value,
                         in_quotes(*action) + " is not remove or inhibit");
        }
    }
    if (const auto* check_table = reader.table("check")) {
        vs.default_check = read_check(file, *check_table, "virtual_server.check");
    }

    // Real servers: the family every one must share is the service's, or for a fwmark service
    // without a declared family, the first real server's.
    std::optional<address_family> family;
    if (vs.address) {
        family = vs.address->family();
    } else if (declared_family) {
        family = declared_family;
    }
    std::map<ip_endpoint, location> seen;
    if (const auto* node = reader.node("real_server")) {
        const auto* array = node->as_array();
        if (!array || !array->is_array_of_tables()) {
            reader.error("real_server", rule::wrong_type,
                         "expected [[virtual_server.real_server]] tables, got " +
                             std::string(type_name(node->type())));
        } else {
            std::size_t index = 0;
            for (const auto& item : *array) {
                auto path = "virtual_server.real_server[" + std::to_string(index++) + "]";
                auto server = read_real_server(file, *item.as_table(), path, vs);
                if (!server) {
                    continue;
                }
                auto server_family = server->address.family();
                if (!family) {
                    family = server_family;
                    vs.family = server_family;
                }
                if (server_family != *family) {
                    file.error(server->where, rule::family_mismatch,
                               path + ".address: " + to_string(server->address) + " is " +
                                   std::string(to_string(server_family)) + " but virtual server " +
                                   in_quotes(vs.name) + " is " + std::string(to_string(*family)) +
                                   "; one virtual server serves one address family");
                    continue;
                }
                if (auto [it, inserted] = seen.emplace(server->address, server->where); !inserted) {
                    file.error(server->where, rule::duplicate_real_server,
                               path + ".address: " + to_string(server->address) +
                                   " is already a real server of " + in_quotes(vs.name) +
                                   first_at(it->second));
                    continue;
                }
                vs.real_servers.push_back(std::move(*server));
            }
        }
    }
    if (auto sorry = read_endpoint(reader, "sorry_server")) {
        if (family && sorry->family() != *family) {
            reader.error("sorry_server", rule::family_mismatch,
                         to_string(*sorry) + " is " + std::string(to_string(sorry->family())) +
                             " but the virtual server is " + std::string(to_string(*family)));
        } else {
            vs.sorry_server = *sorry;
        }
    }
    reader.finish();
    if (diagnostics_.size() != errors_before) {
        return std::nullopt;
    }
    for (auto& server : vs.real_servers) {
        server.name = vs.name + "/" + to_string(server.address);
    }
    return vs;
}

std::optional<real_server> loader::read_real_server(file_context& file, const toml::table& table,
                                                    const std::string& path,
                                                    const virtual_server& vs) {
    auto errors_before = diagnostics_.size();
    table_reader reader(file, table, path);
    real_server server;
    server.where = file.at(table.source());
    reader.require("address");
    if (auto address = read_endpoint(reader, "address")) {
        server.address = *address;
        // Without NAT the kernel does not rewrite the destination port, so it cannot differ.
        if (vs.address && vs.forwarding != ipvs::forwarding::nat &&
            address->port != vs.address->port) {
            reader.error("address", rule::bad_value,
                         "port " + std::to_string(address->port) +
                             " differs from the virtual "
                             "server's port " +
                             std::to_string(vs.address->port) +
                             ", which only forwarding = \"nat\" can translate");
        }
        if (address->port == 0 && !vs.fwmark) {
            reader.error("address", rule::out_of_range,
                         "port 0 is not a service port (1 to 65535)");
        }
    }
    if (auto weight = reader.integer("weight", 0, 65535)) {
        server.weight = static_cast<std::uint32_t>(*weight);
    }
    if (auto upper = reader.integer("upper_threshold", 0, 0xffffffffLL)) {
        server.upper_threshold = static_cast<std::uint32_t>(*upper);
    }
    if (auto lower = reader.integer("lower_threshold", 0, 0xffffffffLL)) {
        if (server.upper_threshold == 0 ||
            static_cast<std::uint32_t>(*lower) >= server.upper_threshold) {
            reader.error("lower_threshold", rule::conflicting_keys,
                         "needs an upper_threshold above it (new connections resume below the "
                         "lower one after reaching the upper one)");
        } else {
            server.lower_threshold = static_cast<std::uint32_t>(*lower);
        }
    }
    if (const auto* check_table = reader.table("check")) {
        server.own_check = read_check(file, *check_table, path + ".check");
    }
    reader.finish();
    if (diagnostics_.size() != errors_before) {
        return std::nullopt;
    }
    return server;
}

std::optional<check> loader::read_check(file_context& file, const toml::table& table,
                                        const std::string& path) {
    auto errors_before = diagnostics_.size();
    table_reader reader(file, table, path);
    check c;
    reader.require("type");
    bool type_known = false;
    if (auto type = reader.string("type")) {
        for (auto candidate :
             {check_type::http, check_type::https, check_type::tcp, check_type::script,
              check_type::udp, check_type::dns, check_type::icmp, check_type::file}) {
            if (*type == to_string(candidate)) {
                c.type = candidate;
                type_known = true;
            }
        }
        if (!type_known) {
            reader.error(
                "type", rule::bad_value,
                in_quotes(*type) + " is not http, https, tcp, script, udp, dns, icmp or file");
        }
    }
    if (auto interval = reader.duration_value("interval", 100ms, 1h)) {
        c.interval = *interval;
    }
    if (auto timeout = reader.duration_value("timeout", 10ms, 1h)) {
        c.timeout = *timeout;
    }
    if (c.timeout > c.interval && reader.has("timeout")) {
        reader.error("timeout", rule::out_of_range,
                     format_duration(c.timeout) + " is longer than the interval " +
                         format_duration(c.interval));
    }
    c.recheck_interval = std::min(c.interval, duration(1s));
    if (auto recheck = reader.duration_value("recheck_interval", 10ms, 1h)) {
        if (*recheck > c.interval) {
            reader.error("recheck_interval", rule::out_of_range,
                         format_duration(*recheck) + " is longer than the interval " +
                             format_duration(c.interval));
        } else {
            c.recheck_interval = *recheck;
        }
    }
    if (auto initial = reader.string("initial_state")) {
        if (*initial == "up" || *initial == "down") {
            c.initial_state = *initial == "up" ? initial_health::up : initial_health::down;
        } else {
            reader.error("initial_state", rule::bad_value,
                         in_quotes(*initial) + " is not up or down");
        }
    }
    if (auto rise = reader.integer("rise", 1, 1000)) {
        c.rise = static_cast<unsigned>(*rise);
    }
    if (auto fall = reader.integer("fall", 1, 1000)) {
        c.fall = static_cast<unsigned>(*fall);
    }

    bool http = c.type == check_type::http || c.type == check_type::https;
    auto only_for = [&](std::string_view key, bool applies, const char* types) {
        if (type_known && !applies && reader.has(key)) {
            reader.error(key, rule::conflicting_keys,
                         "applies only to " + std::string(types) + " checks, not " +
                             std::string(to_string(c.type)));
        }
    };
    if (auto method = reader.string("method")) {
        if (*method == "GET" || *method == "HEAD") {
            c.method = *method == "GET" ? http_method::get : http_method::head;
        } else {
            reader.error("method", rule::bad_value, in_quotes(*method) + " is not GET or HEAD");
        }
    }
    only_for("method", http, "http and https");
    if (auto request_path = reader.string("path")) {
        if (request_path->empty() || request_path->front() != '/' ||
            !printable_without_space(*request_path)) {
            reader.error("path", rule::bad_value,
                         in_quotes(*request_path) +
                             " is not a request path (it starts with '/' and "
                             "has no spaces or control characters)");
        } else {
            c.path = *request_path;
        }
    }
    only_for("path", http, "http and https");
    if (auto host = reader.string("host")) {
        if (host->empty() || !printable_without_space(*host)) {
            reader.error("host", rule::bad_value,
                         in_quotes(*host) +
                             " is not a Host header value (no spaces or control "
                             "characters)");
        } else {
            c.host = *host;
        }
    }
    only_for("host", http, "http and https");
    if (const auto* status = reader.array("status")) {
        std::vector<checkers::status_set::range> ranges;
        for (const auto& item : *status) {
            std::string text;
            if (const auto* code = item.as_integer()) {
                text = std::to_string(code->get());
            } else if (const auto* range = item.as_string()) {
                text = range->get();
            } else {
                reader.error_at(item, "status", rule::wrong_type,
                                "expected a status code or a \"first-last\" range, got " +
                                    std::string(type_name(item.type())));
                continue;
            }
            auto parsed = checkers::parse_status_range(text);
            if (!parsed) {
                reader.error_at(item, "status", rule::bad_value, parsed.error());
                continue;
            }
            ranges.push_back(*parsed);
        }
        if (status->empty()) {
            reader.error("status", rule::missing_key, "lists no status code");
        }
        c.status = checkers::status_set(std::move(ranges));
    }
    only_for("status", http, "http and https");
    if (auto regex = reader.string("body_regex")) {
        try {
            boost::regex compiled(*regex, boost::regex::perl);
            c.body_regex = *regex;
        } catch (const boost::regex_error& e) {
            // Boost's message is a paragraph; its first sentence is the reason.
            std::string reason = e.what();
            reason = reason.substr(0, reason.find(".  "));
            reader.error("body_regex", rule::bad_value,
                         in_quotes(*regex) + " is not a valid regular expression: " + reason +
                             " (at character " + std::to_string(e.position()) + ")");
        }
    }
    only_for("body_regex", http, "http and https");
    if (auto digest = reader.string("body_digest")) {
        auto parsed = checkers::parse_body_digest(*digest);
        if (parsed) {
            c.body_digest = *parsed;
        } else {
            reader.error("body_digest", rule::bad_value, parsed.error());
        }
    }
    only_for("body_digest", http, "http and https");

    if (auto limit = reader.integer("body_limit", 1024, 16 * 1024 * 1024)) {
        c.body_limit = static_cast<std::size_t>(*limit);
    }
    only_for("body_limit", http, "http and https");
    if (auto reuse = reader.boolean("reuse_connection")) {
        c.reuse_connection = *reuse;
    }
    only_for("reuse_connection", http, "http and https");
    if (auto target = read_endpoint(reader, "connect")) {
        if (target->port == 0) {
            reader.error("connect", rule::out_of_range,
                         "port 0 is not a service port (1 to 65535)");
        } else {
            c.connect = *target;
        }
    }
    only_for("connect", c.type != check_type::script && c.type != check_type::file,
             "http, https, tcp, udp, dns and icmp");
    bool udp = c.type == check_type::udp;
    for (const char* key : {"send", "expect"}) {
        if (auto text = reader.string(key)) {
            if (text->empty()) {
                reader.error(key, rule::bad_value, "is empty");
            } else {
                (std::string_view(key) == "send" ? c.send : c.expect) = *text;
            }
        }
        only_for(key, c.type == check_type::tcp || udp, "tcp and udp");
    }
    // Binary payloads, for protocols whose probes are not text.
    for (std::string_view key : {"send_hex", "expect_hex"}) {
        auto text_key = key.substr(0, key.size() - 4);
        if (auto hex = reader.string(key)) {
            auto bytes = checkers::parse_hex_bytes(*hex);
            if (!bytes) {
                reader.error(key, rule::bad_value, in_quotes(*hex) + " " + bytes.error());
            } else if (bytes->empty()) {
                reader.error(key, rule::bad_value, "is empty");
            } else {
                (text_key == "send" ? c.send : c.expect) =
                    std::string(bytes->begin(), bytes->end());
            }
            if (reader.has(text_key)) {
                reader.error(key, rule::conflicting_keys,
                             "conflicts with " + std::string(text_key) + ": write the " +
                                 (text_key == "send" ? "payload" : "expected reply") +
                                 " once, as text or in hex");
            }
        }
        only_for(key, udp, "udp");
    }
    if (auto regex = reader.string("expect_regex")) {
        try {
            boost::regex compiled(*regex, boost::regex::perl);
            c.expect_regex = *regex;
        } catch (const boost::regex_error& e) {
            std::string reason = e.what();
            reason = reason.substr(0, reason.find(".  "));
            reader.error("expect_regex", rule::bad_value,
                         in_quotes(*regex) + " is not a valid regular expression: " + reason +
                             " (at character " + std::to_string(e.position()) + ")");
        }
    }
    only_for("expect_regex", udp, "udp");
    if (auto required = reader.boolean("require_reply")) {
        c.require_reply = *required;
    }
    only_for("require_reply", udp, "udp");

    bool dns = c.type == check_type::dns;
    if (auto name = reader.string("query_name")) {
        if (auto problem = checkers::dns_name_problem(*name)) {
            reader.error("query_name", rule::bad_value,
                         in_quotes(*name) + " is not a DNS name: it " + *problem);
        } else {
            c.query_name = checkers::canonical_dns_name(*name);
        }
    }
    only_for("query_name", dns, "dns");
    if (auto type = reader.string("query_type")) {
        if (auto parsed = checkers::parse_dns_record_type(*type)) {
            c.query_type = *parsed;
        } else {
            reader.error("query_type", rule::bad_value,
                         in_quotes(*type) + " is not A, AAAA, NS, MX, SOA, TXT, SRV or CNAME");
        }
    }
    only_for("query_type", dns, "dns");
    if (auto transport = reader.string("transport")) {
        if (*transport == "udp" || *transport == "tcp") {
            c.transport =
                *transport == "udp" ? checkers::dns_transport::udp : checkers::dns_transport::tcp;
        } else {
            reader.error("transport", rule::bad_value,
                         in_quotes(*transport) + " is not udp or tcp");
        }
    }
    only_for("transport", dns, "dns");
    if (const auto* rcode = reader.node("rcode")) {
        if (const auto* number = rcode->as_integer()) {
            if (number->get() < 0 || number->get() > 15) {
                reader.error("rcode", rule::out_of_range,
                             std::to_string(number->get()) + " is not between 0 and 15");
            } else {
                c.rcode = static_cast<std::uint8_t>(number->get());
            }
        } else if (auto name = reader.string("rcode")) {
            if (auto parsed = checkers::parse_dns_rcode(*name)) {
                c.rcode = *parsed;
            } else {
                reader.error("rcode", rule::bad_value,
                             in_quotes(*name) +
                                 " is not a response code (NOERROR, NXDOMAIN, "
                                 "SERVFAIL, REFUSED, ... or 0 to 15)");
            }
        }
    }
    only_for("rcode", dns, "dns");
    if (auto answer = reader.string("answer")) {
        if (answer->empty()) {
            reader.error("answer", rule::bad_value, "is empty");
        } else {
            c.answer = *answer;
        }
    }
    only_for("answer", dns, "dns");
    if (type_known && dns) {
        reader.require("query_name");
    }

    bool file_check = c.type == check_type::file;
    if (auto state_file = reader.string("file")) {
        if (state_file->empty() || state_file->front() != '/') {
            reader.error("file", rule::bad_value,
                         in_quotes(*state_file) + " is not an absolute path");
        } else {
            c.state_file = *state_file;
        }
    }
    only_for("file", file_check, "file");
    if (auto missing = reader.string("missing")) {
        if (*missing == "up" || *missing == "down") {
            c.missing_state = *missing == "up" ? initial_health::up : initial_health::down;
        } else {
            reader.error("missing", rule::bad_value, in_quotes(*missing) + " is not up or down");
        }
    }
    only_for("missing", file_check, "file");
    if (type_known && file_check) {
        reader.require("file");
    }

    bool https = c.type == check_type::https;
    if (auto verify = reader.boolean("tls_verify")) {
        c.tls_verify = *verify;
    }
    only_for("tls_verify", https, "https");
    if (auto ca_file = reader.string("ca_file")) {
        if (::access(ca_file->c_str(), R_OK) != 0) {
            reader.error("ca_file", rule::unreadable_file,
                         "cannot read " + *ca_file + ": " + std::strerror(errno));
        } else {
            c.ca_file = *ca_file;
        }
        if (reader.has("tls_verify") && !c.tls_verify) {
            reader.error("ca_file", rule::conflicting_keys,
                         "has no effect with tls_verify = false");
        }
    }
    only_for("ca_file", https, "https");
    if (auto sni = reader.string("sni")) {
        if (sni->empty() || !printable_without_space(*sni)) {
            reader.error("sni", rule::bad_value, in_quotes(*sni) + " is not a server name");
        } else {
            c.sni = *sni;
        }
    }
    only_for("sni", https, "https");

    if (auto argv = read_argv(reader, "command")) {
        c.command = *argv;
    }
    only_for("command", c.type == check_type::script, "script");
    if (auto user = reader.string("user")) {
        if (::getpwnam(user->c_str()) == nullptr) {
            reader.error("user", rule::bad_value, "no such user " + in_quotes(*user));
        } else {
            c.user = *user;
        }
    }
    only_for("user", c.type == check_type::script, "script");
    if (auto dynamic = reader.boolean("dynamic_weight")) {
        c.dynamic_weight = *dynamic;
    }
    only_for("dynamic_weight", c.type == check_type::script, "script");
    if (type_known && c.type == check_type::script) {
        reader.require("command");
    }
    reader.finish();
    if (diagnostics_.size() != errors_before) {
        return std::nullopt;
    }
    return c;
}

void loader::check_duplicates(const configuration& config) {
    std::map<std::string, location> names;
    std::map<std::tuple<std::string, int, address_family>, location> vrids;
    for (const auto& instance : config.vrrp_instances) {
        file_context file(instance.where.file, diagnostics_);
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
            file_context(instance.where.file, diagnostics_)
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
        file_context file(vs.where.file, diagnostics_);
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
}

}  // namespace

load_result load_configuration(const std::string& main_file) {
    return loader(main_file).run();
}

}  // namespace vigil::config
