#include "vrrp/virtual_mac.hpp"

#include <fstream>

namespace vigil::vrrp {

namespace {

std::string sysctl_path(const std::string& interface, const char* key) {
    return "/proc/sys/net/ipv4/conf/" + interface + "/" + key;
}

std::optional<std::string> read_sysctl(const std::string& path) {
    std::ifstream in(path);
    std::string value;
    if (in >> value) {
        return value;
    }
    return std::nullopt;
}

bool write_sysctl(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value << "\n";
    return static_cast<bool>(out);
}

std::string default_name(address_family family, std::uint8_t vrid) {
    return (family == address_family::ipv6 ? "vrrp6." : "vrrp.") + std::to_string(vrid);
}

}  // namespace

virtual_mac::virtual_mac(std::string instance, std::string base, std::string name,
                         address_family family, std::uint8_t virtual_router_id)
    : instance_(std::move(instance)),
      base_(std::move(base)),
      name_(name.empty() ? default_name(family, virtual_router_id) : std::move(name)),
      family_(family),
      virtual_router_id_(virtual_router_id) {}

mac_address virtual_mac::address() const {
    return {0x00,
            0x00,
            0x5e,
            0x00,
            static_cast<std::uint8_t>(family_ == address_family::ipv6 ? 0x02 : 0x01),
            virtual_router_id_};
}

bool virtual_mac::ensure(address_effects& effects, event_log& log, const interface_info& base) {
    auto result = effects.create_macvlan(base.index, name_, address());
    if (result.outcome == address_change::failed) {
        log.error("vrrp.vmac_failed",
                  {{"instance", instance_}, {"interface", name_}, {"error", result.error}});
        return false;
    }
    if (result.outcome == address_change::done) {
        log.info("vrrp.vmac_created",
                 {{"instance", instance_}, {"interface", name_}, {"base", base_}});
    }
    // Only the VMAC may answer ARP for the VIPs: by default the base interface would answer
    // too, with its own MAC. arp_ignore=1 answers only for addresses of the receiving
    // interface. Replies and traffic to the VIP arrive on the VMAC while the route back leaves
    // by the base, so the VMAC takes loose reverse-path filtering (a strict one drops them).
    auto base_path = sysctl_path(base_, "arp_ignore");
    if (!saved_sysctls_.contains(base_path)) {
        if (auto previous = read_sysctl(base_path)) {
            saved_sysctls_[base_path] = *previous;
        }
    }
    write_sysctl(base_path, "1");
    write_sysctl(sysctl_path(name_, "arp_ignore"), "1");
    write_sysctl(sysctl_path(name_, "rp_filter"), "2");
    return true;
}

void virtual_mac::remove(address_effects& effects, event_log& log) {
    auto result = effects.delete_link(name_);
    if (result.outcome == address_change::done) {
        log.info("vrrp.vmac_removed", {{"instance", instance_}, {"interface", name_}});
    }
    for (const auto& [path, value] : saved_sysctls_) {
        write_sysctl(path, value);
    }
    saved_sysctls_.clear();
}

}  // namespace vigil::vrrp
