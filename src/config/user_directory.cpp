#include "config/user_directory.hpp"

namespace vigil::config {

const user_lookup& user_directory::look_up(const std::string& user,
                                           const std::optional<std::string>& group) {
    auto key = std::pair{user, group};
    auto known = known_.find(key);
    if (known == known_.end()) {
        known = known_.emplace(key, group ? look_up_user(user, *group) : look_up_user(user)).first;
    }
    return known->second;
}

}  // namespace vigil::config
