#include "status.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <ctime>
#include <map>
#include <set>

namespace vigil {

std::string format_utc(std::chrono::system_clock::time_point time) {
    auto seconds = std::chrono::system_clock::to_time_t(time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return buffer;
}

std::string format_uptime(std::chrono::steady_clock::duration uptime) {
    auto total = std::chrono::duration_cast<std::chrono::seconds>(uptime).count();
    auto days = total / 86400;
    auto hours = total % 86400 / 3600;
    auto minutes = total % 3600 / 60;
    auto seconds = total % 60;
    std::string out;
    if (days > 0) {
        out += std::to_string(days) + "d";
    }
    if (days > 0 || hours > 0) {
        out += std::to_string(hours) + "h";
    }
    if (days > 0 || hours > 0 || minutes > 0) {
        out += std::to_string(minutes) + "m";
    }
    return out + std::to_string(seconds) + "s";
}

namespace {

std::string plural(std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string count_summary(std::uint64_t vrrp_instances, std::uint64_t virtual_servers,
                          std::uint64_t real_servers) {
    return plural(vrrp_instances, "VRRP instance", "VRRP instances") + ", " +
           plural(virtual_servers, "virtual server", "virtual servers") + ", " +
           plural(real_servers, "real server", "real servers");
}

void write_status_members(json_writer& w, const daemon_status& status) {
    w.key("daemon");
    w.begin_object();
    w.member("version", status.version);
    w.member("node", status.node);
    w.member("pid", static_cast<std::int64_t>(status.pid));
    w.member("started_at", format_utc(status.started_at));
    w.member("uptime_seconds", std::chrono::duration<double>(status.uptime).count());
    w.end_object();

    w.key("config");
    w.begin_object();
    w.member("file", status.config_file);
    w.member("loaded_at", format_utc(status.config_loaded_at));
    w.member("vrrp_instances", status.vrrp_instances);
    w.member("virtual_servers", status.virtual_servers);
    w.member("real_servers", status.real_servers);
    w.member("reloads_applied", status.reloads_applied);
    w.member("reloads_rejected", status.reloads_rejected);
    if (!status.last_rejection.empty()) {
        w.member("last_rejection", status.last_rejection);
    }
    w.end_object();

    w.key("vrrp_instances");
    w.begin_array();
    for (const auto& r : status.vrrp) {
        w.begin_object();
        w.member("name", r.name);
        w.member("interface", r.interface);
        w.member("virtual_router_id", static_cast<std::int64_t>(r.virtual_router_id));
        w.member("version", static_cast<int>(r.version));
        w.member("state", vrrp::to_string(r.current));
        w.member("since", format_utc(r.since));
        w.member("priority", static_cast<std::int64_t>(r.priority));
        w.member("configured_priority", static_cast<std::int64_t>(r.configured_priority));
        w.key("master");
        r.master ? w.value(to_string(*r.master)) : w.null();
        w.member("advert_interval_ms", static_cast<std::int64_t>(r.advert_interval.count()));
        w.member("master_advert_interval_ms",
                 static_cast<std::int64_t>(r.master_advert_interval.count()));
        w.key("vips");
        w.begin_array();
        for (const auto& vip : r.vips) {
            w.value(to_string(vip));
        }
        w.end_array();
        w.member("adverts_sent", r.adverts_sent);
        w.member("adverts_received", r.adverts_received);
        w.member("transitions", r.transitions);
        w.key("dropped");
        w.begin_object();
        for (const auto& [reason, count] : r.dropped) {
            w.member(reason, count);
        }
        w.end_object();
        w.key("trackers");
        w.begin_array();
        for (const auto& t : r.trackers) {
            w.begin_object();
            w.member("name", t.name);
            w.member("kind", vrrp::to_string(t.kind));
            w.member("weight", static_cast<std::int64_t>(t.weight));
            w.member("healthy", t.healthy);
            if (t.kind == vrrp::tracker_kind::file) {
                w.member("value", static_cast<std::int64_t>(t.value));
            }
            w.end_object();
        }
        w.end_array();
        w.key("sync_group");
        r.sync_group ? w.value(*r.sync_group) : w.null();
        w.end_object();
    }
    w.end_array();
}

boost::json::object to_json(const daemon_status& status) {
    std::string text;
    json_writer w(text);
    w.begin_object();
    write_status_members(w, status);
    w.end_object();
    return boost::json::parse(text).as_object();
}

namespace {

// Columns padded to their widest cell, two spaces apart.
std::string render_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (std::size_t c = 0; c < row.size(); ++c) {
            widths[c] = std::max(widths[c], row[c].size());
        }
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) {
                line.append(widths[c] - row[c].size() + 2, ' ');
            }
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace

std::string render_status_text(const boost::json::object& status) {
    const auto& daemon = status.at("daemon").as_object();
    const auto& config = status.at("config").as_object();
    auto uptime = std::chrono::duration<double>(daemon.at("uptime_seconds").to_number<double>());
    std::string out;
    out += "vigil " + std::string(daemon.at("version").as_string()) + " on " +
           std::string(daemon.at("node").as_string()) + ", pid " +
           std::to_string(daemon.at("pid").to_number<std::int64_t>()) + ", up " +
           format_uptime(std::chrono::duration_cast<std::chrono::steady_clock::duration>(uptime)) +
           " (since " + std::string(daemon.at("started_at").as_string()) + ")\n";
    out += "config  " + std::string(config.at("file").as_string()) + ", loaded " +
           std::string(config.at("loaded_at").as_string()) + "\n";
    out += "        " +
           count_summary(config.at("vrrp_instances").to_number<std::uint64_t>(),
                         config.at("virtual_servers").to_number<std::uint64_t>(),
                         config.at("real_servers").to_number<std::uint64_t>()) +
           "\n";
    out += "reloads " + std::to_string(config.at("reloads_applied").to_number<std::int64_t>()) +
           " applied, " + std::to_string(config.at("reloads_rejected").to_number<std::int64_t>()) +
           " rejected\n";
    if (const auto* rejection = config.if_contains("last_rejection")) {
        out += "        last rejected: " + std::string(rejection->as_string()) + "\n";
    }
    const auto& instances = status.at("vrrp_instances").as_array();
    if (!instances.empty()) {
        out += "\n";
        std::vector<std::vector<std::string>> rows{{"VRRP", "INTERFACE", "VRID", "STATE", "PRIO",
                                                    "MASTER", "SINCE", "SENT", "RECEIVED",
                                                    "DROPPED"}};
        for (const auto& value : instances) {
            const auto& i = value.as_object();
            std::uint64_t dropped = 0;
            std::string reasons;
            for (const auto& [reason, count] : i.at("dropped").as_object()) {
                dropped += count.to_number<std::uint64_t>();
                reasons += (reasons.empty() ? " (" : ", ") + std::string(reason) + " " +
                           std::to_string(count.to_number<std::uint64_t>());
            }
            if (!reasons.empty()) {
                reasons += ")";
            }
            const auto& master = i.at("master");
            rows.push_back({std::string(i.at("name").as_string()),
                            std::string(i.at("interface").as_string()),
                            std::to_string(i.at("virtual_router_id").to_number<int>()),
                            std::string(i.at("state").as_string()),
                            std::to_string(i.at("priority").to_number<int>()),
                            master.is_string() ? std::string(master.as_string()) : "-",
                            std::string(i.at("since").as_string()),
                            std::to_string(i.at("adverts_sent").to_number<std::uint64_t>()),
                            std::to_string(i.at("adverts_received").to_number<std::uint64_t>()),
                            std::to_string(dropped) + reasons});
        }
        out += render_table(rows);
    }
    // The weight each real server has in the kernel right now, by name; absent = not in the table.
    std::map<std::string, std::uint64_t, std::less<>> applied_weights;
    if (const auto* ipvs = status.if_contains("ipvs")) {
        const auto& table = ipvs->as_object();
        if (const auto* error = table.if_contains("error")) {
            out += "\nipvs    " + std::string(error->as_string()) + "\n";
        }
        std::vector<std::vector<std::string>> rows{
            {"VIRTUAL SERVER", "SERVICE", "SCHEDULER", "QUORUM", "ACTIVE", "KERNEL"}};
        for (const auto& value : table.at("services").as_array()) {
            const auto& service = value.as_object();
            std::uint64_t active = 0;
            for (const auto& destination : service.at("destinations").as_array()) {
                const auto& d = destination.as_object();
                active += d.at("active_connections").to_number<std::uint64_t>();
                if (const auto& name = d.at("real_server"); name.is_string()) {
                    applied_weights[std::string(name.as_string())] =
                        d.at("weight").to_number<std::uint64_t>();
                }
            }
            const auto& name = service.at("virtual_server");
            const auto& quorum = service.at("quorum_up");
            const auto& in_sync = service.at("in_sync");
            rows.push_back({name.is_string() ? std::string(name.as_string()) : "(not vigil's)",
                            std::string(service.at("service").as_string()),
                            std::string(service.at("scheduler").as_string()),
                            quorum.is_bool() ? (quorum.as_bool() ? "up" : "lost") : "-",
                            std::to_string(active),
                            in_sync.is_bool() ? (in_sync.as_bool() ? "in sync" : "differs") : "-"});
        }
        if (rows.size() > 1) {
            out += "\n" + render_table(rows);
        }
    }
    std::set<std::string, std::less<>> drained;
    if (const auto* names = status.if_contains("drained")) {
        for (const auto& name : names->as_array()) {
            drained.emplace(name.as_string());
        }
    }
    if (const auto* servers = status.if_contains("real_servers");
        servers && !servers->as_array().empty()) {
        out += "\n";
        std::vector<std::vector<std::string>> rows{{"REAL SERVER", "STATE", "WEIGHT", "APPLIED",
                                                    "CHECK", "LAST RESULT", "LATENCY", "SINCE"}};
        for (const auto& value : servers->as_array()) {
            const auto& r = value.as_object();
            bool checked = r.at("checked").as_bool();
            std::string name(r.at("name").as_string());
            auto applied = applied_weights.find(name);
            // Several checks: the ones that hold the server down, else all of them.
            std::string check(r.at("check").as_string());
            if (const auto* checks = r.if_contains("checks");
                checks && checks->as_array().size() > 1) {
                bool down = r.at("state").as_string() == "down";
                check.clear();
                for (const auto& c : checks->as_array()) {
                    if (!down || c.at("state").as_string() == "down") {
                        check += (check.empty() ? "" : "+") + std::string(c.at("name").as_string());
                    }
                }
            }
            rows.push_back(
                {name,
                 std::string(r.at("state").as_string()) +
                     (drained.contains(name) ? ", drained" : ""),
                 std::to_string(r.at("weight").to_number<std::uint64_t>()),
                 applied == applied_weights.end() ? "-" : std::to_string(applied->second), check,
                 checked ? std::string(r.at("last_result").as_string()) : "-",
                 checked ? std::to_string(r.at("latency_ms").to_number<std::int64_t>()) + "ms"
                         : "-",
                 std::string(r.at("since").as_string())});
        }
        out += render_table(rows);
    }
    return out;
}

}  // namespace vigil
