#include "vrrp_specs.hpp"

#include <algorithm>

namespace vigil {

std::vector<vrrp::instance_spec> instance_specs(const config::configuration& config) {
    std::vector<vrrp::instance_spec> out;
    for (const auto& instance : config.vrrp_instances) {
        vrrp::instance_spec r;
        r.name = instance.name;
        r.interface = instance.interface;
        r.virtual_router_id = instance.virtual_router_id;
        r.vips = instance.virtual_ipaddress;
        r.unicast_source = instance.unicast_source;
        auto& e = r.election;
        e.priority = instance.priority;
        e.version = instance.version;
        e.advert_interval = instance.advert_interval;
        for (const auto& vip : instance.virtual_ipaddress) {
            e.virtual_addresses.push_back(vip.address);
        }
        e.preempt = instance.preempt;
        e.preempt_delay = instance.preempt_delay;
        if (instance.auth_pass) {
            std::array<std::uint8_t, 8> pass{};
            std::copy(instance.auth_pass->begin(), instance.auth_pass->end(), pass.begin());
            e.auth_pass = pass;
        }
        e.unicast_peers = instance.unicast_peers;
        r.announce.master_delay = instance.garp.master_delay;
        r.announce.master_repeat = instance.garp.master_repeat;
        r.announce.master_refresh = instance.garp.master_refresh;
        r.announce.master_refresh_repeat = instance.garp.master_refresh_repeat;
        r.announce.interval = instance.garp.interval;
        r.track_interfaces = instance.track_interface;
        r.track_scripts = instance.track_script;
        r.track_files = instance.track_file;
        r.notify = instance.notify;
        r.use_vmac = instance.use_vmac;
        r.vmac_name = instance.vmac_name;
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<vrrp::sync_group_spec> sync_group_specs(const config::configuration& config) {
    std::vector<vrrp::sync_group_spec> out;
    for (const auto& group : config.vrrp_sync_groups) {
        out.push_back({group.name, group.instances});
    }
    return out;
}

}  // namespace vigil
