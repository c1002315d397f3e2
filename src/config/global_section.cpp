#include "config/global_section.hpp"

#include <unistd.h>

#include <algorithm>

#include "config/choice.hpp"
#include "config/value_rules.hpp"

namespace vigil::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array log_formats{choice<log_format_choice>{"auto", log_format_choice::automatic},
                                 choice<log_format_choice>{"json", log_format_choice::json},
                                 choice<log_format_choice>{"text", log_format_choice::text}};
constexpr std::array ipvs_backends{
    choice<ipvs_backend_choice>{"netlink", ipvs_backend_choice::netlink},
    choice<ipvs_backend_choice>{"memory", ipvs_backend_choice::memory}};
constexpr std::array shutdown_actions{choice<shutdown_action>{"keep", shutdown_action::keep},
                                      choice<shutdown_action>{"remove", shutdown_action::remove}};

void read_log(file_context& file, const toml::table& table, log_settings& log) {
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
    if (auto format = read_choice(reader, "format", log_formats)) {
        log.format = *format;
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

void read_ipvs(file_context& file, const toml::table& table, ipvs_settings& ipvs) {
    table_reader reader(file, table, "global.ipvs");
    if (auto backend = read_choice(reader, "backend", ipvs_backends)) {
        ipvs.backend = *backend;
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
    if (auto action = read_choice(reader, "on_shutdown", shutdown_actions)) {
        ipvs.on_shutdown = *action;
    }
    reader.finish();
}

// A Linux interface name: 1 to 15 bytes, no '/', whitespace or quote (it is written into BIRD's
// config inside double quotes).
bool valid_interface_name(const std::string& name) {
    if (name.empty() || name.size() > 15 || name == "." || name == "..") {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return c > ' ' && c < 127 && c != '/' && c != '"' && c != '\\' && c != ':';
    });
}

void read_bgp(file_context& file, const toml::table& table, bgp_settings& bgp) {
    table_reader reader(file, table, "global.bgp");
    if (auto socket = reader.string("bird_socket")) {
        if (socket->empty() || socket->front() != '/') {
            reader.error("bird_socket", rule::bad_value, "must be an absolute path");
        } else if (socket->size() > 107) {
            reader.error("bird_socket", rule::out_of_range,
                         "is longer than the 107 bytes a unix socket path can hold");
        } else {
            bgp.bird_socket = *socket;
        }
    }
    if (auto include = reader.string("include_file")) {
        if (include->empty() || include->front() != '/' || include->back() == '/') {
            reader.error("include_file", rule::bad_value, "must be an absolute file path");
        } else if (include->find('"') != std::string::npos) {
            reader.error("include_file", rule::bad_value,
                         "must not hold a double quote (BIRD's include takes it quoted)");
        } else {
            bgp.include_file = *include;
        }
    }
    for (auto [key, target] : {std::pair{"liveness_interface", &bgp.liveness_interface},
                               std::pair{"vip_interface", &bgp.vip_interface}}) {
        if (auto name = reader.string(key)) {
            if (valid_interface_name(*name)) {
                *target = *name;
            } else {
                reader.error(key, rule::bad_value,
                             in_quotes(*name) +
                                 " is not an interface name (1 to 15 characters, no space, "
                                 "'/', ':' or quote)");
            }
        }
    }
    if (auto hold = reader.duration_value("hold_down", 0ms, 1h)) {
        bgp.hold_down = *hold;
    }
    if (auto wait = reader.duration_value("drain_wait", 0ms, 10min)) {
        bgp.drain_wait = *wait;
    }
    if (bgp.liveness_interface == bgp.vip_interface) {
        reader.error(reader.has("liveness_interface") ? "liveness_interface" : "vip_interface",
                     rule::conflicting_keys,
                     "the liveness interface is vigil's own device and cannot carry the VIPs");
    }
    reader.finish();
}

}  // namespace

void read_global(table_reader& root, configuration& config) {
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
    if (const auto* metrics_table = reader.table("metrics")) {
        table_reader metrics(root.file(), *metrics_table, "global.metrics");
        global.metrics.listen = read_endpoint(metrics, "listen");
        metrics.finish();
    }
    if (const auto* bgp_table = reader.table("bgp")) {
        read_bgp(root.file(), *bgp_table, global.bgp);
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

void read_alerts(table_reader& root, configuration& config) {
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
        a.user = read_user(reader);
        if (reader.has("url")) {
            for (auto key : {"user", "group"}) {
                if (reader.has(key)) {
                    reader.error(key, rule::conflicting_keys,
                                 "only a command runs as a user, not a url");
                }
            }
        }
        reader.finish();
        config.alerts.push_back(std::move(a));
    }
}

}  // namespace vigil::config
