#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <string>

#include "base/json_writer.hpp"
#include "config/model.hpp"
#include "vrrp/instance_set.hpp"

namespace vigil {

// What the daemon knows about itself, as the control socket reports it. Engines add their own
// sections as they arrive; src/status.schema.json is the contract for the JSON form.
struct daemon_status {
    std::string version;
    std::string node;
    long pid = 0;
    std::chrono::system_clock::time_point started_at;
    std::chrono::steady_clock::duration uptime{};
    std::string config_file;
    std::chrono::system_clock::time_point config_loaded_at;
    std::size_t vrrp_instances = 0;
    std::size_t virtual_servers = 0;
    std::size_t real_servers = 0;
    std::uint64_t reloads_applied = 0;
    std::uint64_t reloads_rejected = 0;
    std::string last_rejection;  // first diagnostic of the last refused reload, if any
    std::vector<vrrp::instance_status> vrrp;
};

// The daemon's members of the status document (daemon, config, vrrp_instances), written as
// text into an open object, or as a document of their own.
void write_status_members(json_writer& w, const daemon_status& status);
boost::json::object to_json(const daemon_status& status);
// The human-readable form `vigil status` prints, rendered from the JSON so both show the same.
std::string render_status_text(const boost::json::object& status);

std::string format_utc(std::chrono::system_clock::time_point time);
std::string format_uptime(std::chrono::steady_clock::duration uptime);
// "1 VRRP instance, 2 virtual servers, 4 real servers": vigil check and vigil status say it alike.
std::string count_summary(std::uint64_t vrrp_instances, std::uint64_t virtual_servers,
                          std::uint64_t real_servers);

}  // namespace vigil
