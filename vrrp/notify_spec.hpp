#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/duration.hpp"
#include "base/user_credentials.hpp"

namespace vigil::vrrp {

// Whom an instance tells of its transitions, as keepalived's notify_* programs.
struct notify_spec {
    std::vector<std::string> any;  // "INSTANCE" name state priority appended
    std::vector<std::string> master;
    std::vector<std::string> backup;
    std::vector<std::string> fault;
    std::vector<std::string> stop;
    duration timeout = std::chrono::seconds(10);
    // Who every one of these programs runs as, looked up when the config is loaded; unset runs
    // them as vigil's own user.
    std::optional<user_lookup> user;
    friend bool operator==(const notify_spec&, const notify_spec&) = default;
};

}  // namespace vigil::vrrp
