#pragma once

#include <optional>
#include <string>

#include "base/address.hpp"
#include "vrrp/packet.hpp"

namespace vigil::vrrp {

// The VRRP transport seam, as one instance sees it: adverts go out through send(); adverts for
// the instance come in through instance::on_advert, called by whoever reads the wire (the
// interface table's demultiplexer, or a test).
class advert_transport {
  public:
    virtual ~advert_transport() = default;
    // Makes sure adverts of `family` can leave and arrive on `interface`; why not, if they cannot.
    virtual std::optional<std::string> open(const std::string& interface,
                                            address_family family) = 0;
    // Sends one advert; why the kernel refused, if it did.
    virtual std::optional<std::string> send(const std::string& interface, const advert& packet,
                                            const ip_address& source,
                                            const ip_address& destination) = 0;
    // Delivers what already waits on `interface` (a bounded amount): a timer that fired late must
    // not mistake unread adverts for a dead master.
    virtual void drain(const std::string& interface, address_family family) = 0;
};

}  // namespace vigil::vrrp
