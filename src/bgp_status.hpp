#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "announce/bird_reply.hpp"
#include "base/json_writer.hpp"

namespace vigil {

// The `bgp` section of `vigil status`, copied out of the announcer on the loop (with the times
// that need the loop's clock already worked out) and written as text on the render worker.
struct bgp_status {
    struct announcement {
        std::string prefix;
        std::string protocol;
        std::vector<std::string> virtual_servers;
        std::string state;  // announced | hold_down | withdrawn
        std::string reason;
        std::uint32_t med = 0;
        std::chrono::system_clock::time_point since{};
        std::optional<std::int64_t> hold_down_left_ms;
        std::optional<std::string> bird_state;  // the BIRD protocol's state, once polled
    };
    std::string bird_socket;
    std::string include_file;
    std::string liveness_interface;
    bool liveness_up = false;
    bool bird_reachable = false;
    bool bird_accepted = false;
    std::string last_error;
    std::string node_mode;  // serving | draining | stopping
    std::int64_t hold_down_ms = 0;
    std::vector<announcement> announcements;
    std::vector<announce::bird_protocol> bird_protocols;
    std::optional<std::chrono::system_clock::time_point> bird_protocols_at;
};

// The section as src/status.schema.json's `bgp` object.
void write_bgp_status(json_writer& w, const bgp_status& status);

}  // namespace vigil
