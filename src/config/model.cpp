#include "config/model.hpp"

namespace vigil::config {

const std::vector<check>& virtual_server::checks_for(const real_server& server) const {
    return server.own_checks.empty() ? default_checks : server.own_checks;
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
