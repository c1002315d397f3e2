#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "base/user_credentials.hpp"

namespace vigil::config {

// The users one config load asks for, each looked up once: NSS may ask LDAP or SSSD and take
// seconds, and a thousand real servers' checks usually name the same user. A reload starts with
// an empty directory, so a user changed on the host is seen again.
class user_directory {
  public:
    // Blocks on NSS the first time a user (and group) is asked for.
    const user_lookup& look_up(const std::string& user, const std::optional<std::string>& group);

  private:
    std::map<std::pair<std::string, std::optional<std::string>>, user_lookup> known_;
};

}  // namespace vigil::config
