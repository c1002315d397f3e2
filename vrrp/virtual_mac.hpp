#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/address.hpp"
#include "base/event_log.hpp"
#include "vrrp/address_effects.hpp"

namespace vigil::vrrp {

// The VRRP virtual MAC of one instance on a macvlan child of its interface (keepalived's
// use_vmac), with the sysctls that make only the child answer ARP for the VIPs.
class virtual_mac {
  public:
    // `name` empty: vrrp.VRID (vrrp6.VRID for IPv6).
    virtual_mac(std::string instance, std::string base, std::string name, address_family family,
                std::uint8_t virtual_router_id);

    const std::string& name() const { return name_; }
    // RFC 5798 7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
    mac_address address() const;

    // Creates (or reuses) the child of `base` and sets the sysctls. False when it failed.
    bool ensure(address_effects& effects, event_log& log, const interface_info& base);
    // Deletes the child and restores the base interface's sysctls.
    void remove(address_effects& effects, event_log& log);

  private:
    std::string instance_;
    std::string base_;
    std::string name_;
    address_family family_;
    std::uint8_t virtual_router_id_;
    std::map<std::string, std::string> saved_sysctls_;  // base interface values to restore
};

}  // namespace vigil::vrrp
