#include "vrrp/vip_effects.hpp"

#include <algorithm>

namespace vigil::vrrp {

vip_effects::vip_effects(std::string instance, std::string interface, std::vector<ip_prefix> vips)
    : instance_(std::move(instance)),
      interface_(std::move(interface)),
      vips_(std::move(vips)),
      held_(vips_.size(), false) {}

void vip_effects::add_all(address_effects& effects, event_log& log, int ifindex,
                          const char* reason) {
    for (std::size_t i = 0; i < vips_.size(); ++i) {
        auto result = effects.add(ifindex, vips_[i]);
        if (result.outcome == address_change::failed) {
            failed(log, "add", vips_[i], result.error);
            held_[i] = false;  // retried while master
            continue;
        }
        held_[i] = true;
        if (result.outcome == address_change::done) {
            changed(log, true, vips_[i], reason);
        }
    }
}

void vip_effects::remove_all(address_effects& effects, event_log& log, int ifindex,
                             const char* reason) {
    for (std::size_t i = 0; i < vips_.size(); ++i) {
        auto result = effects.remove(ifindex, vips_[i]);
        if (result.outcome == address_change::failed) {
            failed(log, "remove", vips_[i], result.error);
            held_[i] = true;  // unknown
            continue;
        }
        held_[i] = false;
        if (result.outcome == address_change::done) {
            changed(log, false, vips_[i], reason);
        }
    }
}

void vip_effects::retry_missing(address_effects& effects, event_log& log, int ifindex) {
    for (std::size_t i = 0; i < vips_.size(); ++i) {
        if (held_[i]) {
            continue;
        }
        if (effects.add(ifindex, vips_[i]).outcome != address_change::failed) {
            held_[i] = true;
            changed(log, true, vips_[i], "retry");
        }
    }
}

void vip_effects::remove_stale(address_effects& effects, event_log& log,
                               const interface_info& iface) {
    for (const auto& vip : vips_) {
        bool present = std::any_of(iface.addresses.begin(), iface.addresses.end(),
                                   [&](const ip_prefix& a) { return a.address == vip.address; });
        if (!present) {
            continue;
        }
        auto result = effects.remove(iface.index, vip);
        if (result.outcome == address_change::done) {
            changed(log, false, vip, "stale");
        } else if (result.outcome == address_change::failed) {
            failed(log, "remove", vip, result.error);
        }
    }
}

void vip_effects::failed(event_log& log, const char* operation, const ip_prefix& vip,
                         const std::string& error) const {
    log.error("vrrp.vip_failed", {{"instance", instance_},
                                  {"interface", interface_},
                                  {"address", to_string(vip)},
                                  {"operation", operation},
                                  {"error", error}});
}

void vip_effects::changed(event_log& log, bool added, const ip_prefix& vip,
                          const char* reason) const {
    log.info(added ? "vrrp.vip_added" : "vrrp.vip_removed", {{"instance", instance_},
                                                             {"interface", interface_},
                                                             {"address", to_string(vip)},
                                                             {"reason", reason}});
}

}  // namespace vigil::vrrp
