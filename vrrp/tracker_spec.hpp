#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/duration.hpp"
#include "base/user_credentials.hpp"

namespace vigil::vrrp {

// What an instance tracks, in the operator's terms; the config model holds these as they are.

struct interface_tracker_spec {
    std::string name;
    int weight = 0;
    friend bool operator==(const interface_tracker_spec&, const interface_tracker_spec&) = default;
};

struct script_tracker_spec {
    std::string name;
    std::vector<std::string> command;
    duration interval = std::chrono::seconds(1);
    duration timeout = std::chrono::seconds(1);
    unsigned rise = 1;
    unsigned fall = 1;
    int weight = 0;
    // Looked up when the config is loaded, never per run; unset runs it as vigil's own user.
    std::optional<user_lookup> user;
    friend bool operator==(const script_tracker_spec&, const script_tracker_spec&) = default;
};

struct file_tracker_spec {
    std::string path;
    int weight = 0;
    friend bool operator==(const file_tracker_spec&, const file_tracker_spec&) = default;
};

}  // namespace vigil::vrrp
