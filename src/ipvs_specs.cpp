#include "ipvs_specs.hpp"

#include <algorithm>
#include <filesystem>

namespace vigil {

std::vector<ipvs::virtual_server_spec> virtual_server_specs(const config::configuration& config) {
    std::vector<ipvs::virtual_server_spec> out;
    for (const auto& vs : config.virtual_servers) {
        ipvs::virtual_server_spec spec;
        spec.name = vs.name;
        auto key = vs.fwmark ? ipvs::service_key::for_fwmark(*vs.fwmark, vs.family)
                             : ipvs::service_key::for_address(vs.protocol, *vs.address);
        ipvs::service_options options;
        options.sched = vs.scheduler;
        options.persistence_timeout = static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::seconds>(vs.persistence_timeout).count());
        options.persistence_netmask = vs.persistence_netmask;
        options.one_packet = vs.one_packet;
        auto has = [&](const char* flag) {
            return std::find(vs.scheduler_flags.begin(), vs.scheduler_flags.end(), flag) !=
                   vs.scheduler_flags.end();
        };
        // sh and mh number their flags alike: 1 = fallback, 2 = port.
        options.sched_flag_1 = has("sh-fallback") || has("mh-fallback");
        options.sched_flag_2 = has("sh-port") || has("mh-port");
        spec.settings = ipvs::make_service(key, options);
        spec.method = vs.forwarding;
        spec.quorum = vs.quorum;
        spec.hysteresis = vs.hysteresis;
        spec.sorry_server = vs.sorry_server;
        spec.on_failure = vs.on_failure == config::failure_action::inhibit
                              ? ipvs::failure_policy::inhibit
                              : ipvs::failure_policy::remove;
        for (const auto& rs : vs.real_servers) {
            spec.real_servers.push_back(
                {rs.name, rs.address, rs.weight, rs.upper_threshold, rs.lower_threshold});
        }
        out.push_back(std::move(spec));
    }
    return out;
}

ipvs::reconciler_spec reconciler_spec(const config::configuration& config) {
    ipvs::reconciler_spec settings;
    settings.resync_interval = config.global.ipvs.resync_interval;
    settings.state_file = std::filesystem::path(config.global.state_dir) / "ipvs-owned-services";
    settings.remove_on_shutdown = config.global.ipvs.on_shutdown == config::shutdown_action::remove;
    for (const auto& instance : config.vrrp_instances) {
        if (instance.sync_daemon) {
            ipvs::sync_daemon daemon;
            daemon.interface = instance.sync_daemon->interface;
            daemon.sync_id = instance.sync_daemon->id;
            settings.sync_daemon_settings = daemon;
        }
    }
    return settings;
}

std::optional<std::string> sync_daemon_instance(const config::configuration& config) {
    for (const auto& instance : config.vrrp_instances) {
        if (instance.sync_daemon) {
            return instance.name;
        }
    }
    return std::nullopt;
}

}  // namespace vigil
