#include "vrrp/demultiplex.hpp"

namespace vigil::vrrp {

void demultiplex(const std::vector<instance*>& members, address_family family,
                 const inbound_packet& packet) {
    std::uint8_t vrid = packet.payload.size() >= 2 ? packet.payload[1] : 0;
    instance* target = nullptr;
    for (auto* m : members) {
        if (m->spec().family() == family && m->spec().virtual_router_id == vrid) {
            target = m;
            break;
        }
    }
    auto decoded = decode(packet.payload, packet.source, packet.destination);
    if (!decoded.has_value()) {
        if (target) {
            target->count_drop(to_string(decoded.error()), packet.source);
        } else {
            count_malformed(members, family, to_string(decoded.error()), packet.source);
        }
        return;
    }
    if (!target) {
        count_malformed(members, family, "unknown_vrid", packet.source);
        return;
    }
    target->on_advert(*decoded, packet.source, packet.hop_limit);
}

void count_malformed(const std::vector<instance*>& members, address_family family,
                     std::string_view reason, const ip_address& source) {
    for (auto* m : members) {
        if (m->spec().family() == family) {
            m->count_drop(reason, source);
        }
    }
}

}  // namespace vigil::vrrp
