#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "bgp_status.hpp"
#include "checkers/health_monitor.hpp"
#include "ipvs/status.hpp"
#include "status.hpp"

namespace vigil {

// Everything `vigil status` shows, copied out of the daemon and its engines in one loop turn.
// The copy costs the loop a few ms at 10,000 real servers; rendering it costs several times that
// and runs on a worker thread, so a status request never holds up an advert. The real_servers
// section holds each checked real server's health, last result and since when: the monitor keeps
// monotonic times, shown as wall-clock times relative to the two `now`s.
struct status_snapshot {
    daemon_status daemon;
    std::vector<checkers::real_server_status> real_servers;
    time_point mono_now{};
    std::chrono::system_clock::time_point wall_now{};
    std::set<std::string, std::less<>> drained;
    std::optional<ipvs::status_snapshot> ipvs;  // none while IPVS is not programmed
    std::optional<bgp_status> bgp;              // none without BGP announcements
};

// The status document (src/status.schema.json) as the one line the control socket answers with
// (no newline), written straight as text; and the same parsed, for tests.
std::string render_status(const status_snapshot& snapshot);
boost::json::object status_json(const status_snapshot& snapshot);

}  // namespace vigil
