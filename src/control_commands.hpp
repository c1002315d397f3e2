#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace vigil {

// What the control socket's commands act on; the daemon implements it.
class control_target {
  public:
    virtual ~control_target() = default;
    virtual boost::json::object status() const = 0;
    // The diagnostics that refused the new config; empty when it was applied.
    virtual std::vector<std::string> reload() = 0;
    // The real server is named as in the config ("web/192.0.2.10:80"); an empty string on
    // success, else why not.
    struct drain_outcome {
        bool changed = false;
        std::string error;
    };
    virtual drain_outcome drain(const std::string& real_server, bool drained) = 0;
};

// Answers one control request ({"command": "status" | "reload" | "drain" | "undrain", ...}) with
// one JSON object; a refused or malformed request gets {"error": ...}.
boost::json::object answer_control_request(const boost::json::object& request,
                                           control_target& target);

}  // namespace vigil
