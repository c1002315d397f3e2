#include "status.hpp"

#include <ctime>

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

boost::json::object to_json(const daemon_status& status) {
    boost::json::object daemon;
    daemon["version"] = status.version;
    daemon["node"] = status.node;
    daemon["pid"] = status.pid;
    daemon["started_at"] = format_utc(status.started_at);
    daemon["uptime_seconds"] = std::chrono::duration<double>(status.uptime).count();

    boost::json::object config;
    config["file"] = status.config_file;
    config["loaded_at"] = format_utc(status.config_loaded_at);
    config["vrrp_instances"] = status.vrrp_instances;
    config["virtual_servers"] = status.virtual_servers;
    config["real_servers"] = status.real_servers;
    config["reloads_applied"] = status.reloads_applied;
    config["reloads_rejected"] = status.reloads_rejected;
    if (!status.last_rejection.empty()) {
        config["last_rejection"] = status.last_rejection;
    }

    boost::json::object out;
    out["daemon"] = std::move(daemon);
    out["config"] = std::move(config);
    return out;
}

namespace {

std::string plural(std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
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
    out +=
        "        " +
        plural(config.at("vrrp_instances").to_number<std::int64_t>(), "VRRP instance",
               "VRRP instances") +
        ", " +
        plural(config.at("virtual_servers").to_number<std::int64_t>(), "virtual server",
               "virtual servers") +
        ", " +
        plural(config.at("real_servers").to_number<std::int64_t>(), "real server", "real servers") +
        "\n";
    out += "reloads " + std::to_string(config.at("reloads_applied").to_number<std::int64_t>()) +
           " applied, " + std::to_string(config.at("reloads_rejected").to_number<std::int64_t>()) +
           " rejected\n";
    if (const auto* rejection = config.if_contains("last_rejection")) {
        out += "        last rejected: " + std::string(rejection->as_string()) + "\n";
    }
    return out;
}

}  // namespace vigil
