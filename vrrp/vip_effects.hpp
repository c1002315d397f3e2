#pragma once

#include <string>
#include <vector>

#include "base/address.hpp"
#include "base/event_log.hpp"
#include "vrrp/address_effects.hpp"

namespace vigil::vrrp {

// The VIPs of one instance and whether it holds each: adds and removes them through the address
// effects seam, logs every change, and remembers refusals so a master can retry them.
class vip_effects {
  public:
    vip_effects(std::string instance, std::string interface, std::vector<ip_prefix> vips);

    const std::vector<ip_prefix>& vips() const { return vips_; }
    // `reason` goes into the log record (became_master, released).
    void add_all(address_effects& effects, event_log& log, int ifindex, const char* reason);
    void remove_all(address_effects& effects, event_log& log, int ifindex, const char* reason);
    // Adds again the VIPs the kernel refused (called with every advert while master).
    void retry_missing(address_effects& effects, event_log& log, int ifindex);
    // Removes VIPs left on `iface` by a run that died as master: the election decides afresh.
    void remove_stale(address_effects& effects, event_log& log, const interface_info& iface);

  private:
    void failed(event_log& log, const char* operation, const ip_prefix& vip,
                const std::string& error) const;
    void changed(event_log& log, bool added, const ip_prefix& vip, const char* reason) const;

    std::string instance_;
    std::string interface_;
    std::vector<ip_prefix> vips_;
    std::vector<bool> held_;
};

}  // namespace vigil::vrrp
