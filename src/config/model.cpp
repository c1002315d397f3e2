#include "config/model.hpp"

namespace vigil::config {

const check* virtual_server::check_for(const real_server& server) const {
    if (server.own_check) {
        return &*server.own_check;
    }
    return default_check ? &*default_check : nullptr;
}

std::string virtual_server::service_key() const {
    if (fwmark) {
        return "fwmark " + std::to_string(*fwmark) + "/" + std::string(to_string(family));
    }
    return to_string(*address) + "/" + std::string(ipvs::to_string(protocol));
}

std::size_t configuration::real_server_count() const {
    std::size_t count = 0;
    for (const auto& vs : virtual_servers) {
        count += vs.real_servers.size();
    }
    return count;
}

}  // namespace vigil::config
