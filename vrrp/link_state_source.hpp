#pragma once

#include <string>

#include "vrrp/address_effects.hpp"

namespace vigil::vrrp {

// The link state seam: the interfaces an instance uses, as last seen. Changes are pushed to the
// instance (instance::on_link, on_tracked_link); this answers what it looks up meanwhile.
class link_state_source {
  public:
    virtual ~link_state_source() = default;
    // Nothing when the interface does not exist.
    virtual const interface_info* find(const std::string& name) = 0;
    // Reads the interface again (after the instance created or deleted its VMAC).
    virtual void refresh(const std::string& name) = 0;
};

}  // namespace vigil::vrrp
