#pragma once

#include <string_view>
#include <vector>

#include "base/address.hpp"
#include "vrrp/instance.hpp"
#include "vrrp/socket.hpp"

namespace vigil::vrrp {

// Which instance a packet received on a shared socket goes to: the one of `members` with the
// socket's family and the VRID the packet carries. A packet for no instance is counted as dropped
// (unknown_vrid) by each instance of the family, so an operator sees a misconfigured peer; one
// that does not decode is counted by the instance its VRID byte names, else by each of them.
void demultiplex(const std::vector<instance*>& members, address_family family,
                 const inbound_packet& packet);

// A datagram whose IP layer was unusable, counted by each instance of `family`.
void count_malformed(const std::vector<instance*>& members, address_family family,
                     std::string_view reason, const ip_address& source = ip_address());

}  // namespace vigil::vrrp
