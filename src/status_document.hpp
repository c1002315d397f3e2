#pragma once

#include <boost/json/array.hpp>
#include <chrono>
#include <vector>

#include "base/clock.hpp"
#include "checkers/health_monitor.hpp"

namespace vigil {

// The real_servers section of `vigil status` (src/status.schema.json): each checked real
// server's health, last result and since when. The monitor keeps monotonic times; they are shown
// as wall-clock times relative to the two `now`s.
boost::json::array real_servers_json(const std::vector<checkers::real_server_status>& servers,
                                     time_point mono_now,
                                     std::chrono::system_clock::time_point wall_now);

}  // namespace vigil
