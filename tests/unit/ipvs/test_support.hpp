#pragma once

#include "base/address.hpp"
#include "ipvs/model.hpp"

namespace vigil::ipvs::test {

inline ip_endpoint ep(const char* text) {
    return *parse_endpoint(text);
}

inline service tcp_service(const char* address, const char* scheduler = "wlc") {
    service s;
    s.key = service_key::for_address(protocol::tcp, ep(address));
    s.scheduler = scheduler;
    s.netmask = host_prefix(s.key.family);
    return s;
}

inline destination dest(const char* address, std::uint32_t weight = 1,
                        forward_method forward = forward_method::masq) {
    destination d;
    d.address = ep(address);
    d.weight = weight;
    d.forward = forward;
    return d;
}

inline void put(table& t, const service& s, std::initializer_list<destination> dests = {}) {
    auto& entry = t[s.key];
    entry.settings = s;
    for (const auto& d : dests) {
        entry.destinations[d.address] = d;
    }
}

}  // namespace vigil::ipvs::test
