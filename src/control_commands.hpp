#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace vigil {

// What the control socket's commands act on; the daemon implements it.
class control_target {
  public:
    virtual ~control_target() = default;
    virtual boost::json::object status() const = 0;
    // Reads, validates and applies the config file; `done` gets the diagnostics that refused it
    // (empty: applied), on a later loop turn. `allow_empty`: the operator accepts a config that
    // removes every VRRP instance or every virtual server.
    using reload_done = std::function<void(std::vector<std::string> errors)>;
    virtual void reload(bool allow_empty, reload_done done) = 0;
    // The real server is named as in the config ("web/192.0.2.10:80"); an empty string on
    // success, else why not.
    struct drain_outcome {
        bool changed = false;
        std::string error;
    };
    virtual drain_outcome drain(const std::string& real_server, bool drained) = 0;
    // drain-node / undrain-node: every BGP announcement withdrawn (or back); the wait the
    // routers need after a withdrawal (global.bgp.drain_wait), or an error.
    struct node_drain_outcome {
        std::chrono::milliseconds drain_wait{0};
        std::string error;
    };
    virtual node_drain_outcome drain_node(bool draining) = 0;
    // What reloading `file` (absolute; empty: the daemon's own config file) would do, without
    // doing it: `done` gets the plan (see plan.hpp) or {"valid": false, "errors": [...]}, on a
    // later loop turn.
    using plan_done = std::function<void(boost::json::object reply)>;
    virtual void plan(const std::string& file, plan_done done) = 0;
};

// Answers one control request ({"command": "status" | "reload" | "drain" | "undrain" | "plan" |
// "drain_node" | "undrain_node", ...}) with
// one JSON object passed to `reply` (at once, or later for a reload); a refused or malformed
// request gets {"error": ...}.
void answer_control_request(const boost::json::object& request, control_target& target,
                            std::function<void(boost::json::object)> reply);

}  // namespace vigil
