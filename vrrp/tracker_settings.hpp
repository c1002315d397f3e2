#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/duration.hpp"

namespace vigil::vrrp {

// What an instance tracks and whom it tells, in the operator's terms; the config model holds
// these as they are.

struct interface_tracker_config {
    std::string name;
    int weight = 0;
    friend bool operator==(const interface_tracker_config&,
                           const interface_tracker_config&) = default;
};

struct script_tracker_config {
    std::string name;
    std::vector<std::string> command;
    duration interval = std::chrono::seconds(1);
    duration timeout = std::chrono::seconds(1);
    unsigned rise = 1;
    unsigned fall = 1;
    int weight = 0;
    std::optional<std::string> user;
    friend bool operator==(const script_tracker_config&, const script_tracker_config&) = default;
};

struct file_tracker_config {
    std::string path;
    int weight = 0;
    friend bool operator==(const file_tracker_config&, const file_tracker_config&) = default;
};

struct notify_config {
    std::vector<std::string> any;  // "INSTANCE" name state priority appended
    std::vector<std::string> master;
    std::vector<std::string> backup;
    std::vector<std::string> fault;
    std::vector<std::string> stop;
    duration timeout = std::chrono::seconds(10);
    friend bool operator==(const notify_config&, const notify_config&) = default;
};

}  // namespace vigil::vrrp
