#pragma once

#include <boost/json/array.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "checkers/health_monitor.hpp"
#include "ipvs/status.hpp"
#include "status.hpp"

namespace vigil {

// The real_servers section of `vigil status` (src/status.schema.json): each checked real
// server's health, last result and since when. The monitor keeps monotonic times; they are shown
// as wall-clock times relative to the two `now`s.
boost::json::array real_servers_json(const std::vector<checkers::real_server_status>& servers,
                                     time_point mono_now,
                                     std::chrono::system_clock::time_point wall_now);

// Everything `vigil status` shows, copied out of the daemon and its engines in one loop turn.
// The copy costs the loop a few ms at 10,000 real servers; rendering it costs ten times that
// and runs on a worker thread, so a status request never holds up an advert.
struct status_snapshot {
    daemon_status daemon;
    std::vector<checkers::real_server_status> real_servers;
    time_point mono_now{};
    std::chrono::system_clock::time_point wall_now{};
    std::set<std::string, std::less<>> drained;
    std::optional<ipvs::status_snapshot> ipvs;  // none while IPVS is not programmed
};

// The status document (src/status.schema.json).
boost::json::object status_json(const status_snapshot& snapshot);
// The same as the one line the control socket answers with (no newline).
std::string render_status(const status_snapshot& snapshot);

}  // namespace vigil
