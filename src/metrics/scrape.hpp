#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "checkers/health_monitor.hpp"
#include "ipvs/reconciler.hpp"
#include "metrics/exposition.hpp"
#include "vrrp/instance.hpp"

namespace vigil::metrics {

// The process and its config.
struct daemon_facts {
    std::string version;
    std::chrono::system_clock::time_point started_at;
    std::chrono::system_clock::time_point config_loaded_at;
    std::uint64_t reloads_applied = 0;
    std::uint64_t reloads_rejected = 0;
};

// What a scrape reads from the IPVS reconciler, copied out of it.
struct ipvs_facts {
    std::vector<ipvs::virtual_server_spec> specs;
    ipvs::table desired;
    ipvs::table kernel;  // the reconciler's view of the kernel
    bool kernel_known = false;
    std::map<std::string, ipvs::virtual_server_state, std::less<>> virtual_servers;
    ipvs::reconciler_counters counters;
    std::optional<ipvs::sync_report> last_report;
    std::size_t owned_services = 0;

    static ipvs_facts of(const ipvs::reconciler& reconciler);
};

// Everything one scrape reads, gathered on the loop from what the engines already hold: no
// kernel dump, no probe, no file. It is a copy (a few ms at 10,000 real servers), so that the
// text, which costs ten times more, can be written on another thread.
struct scrape_inputs {
    daemon_facts daemon;
    std::vector<vrrp::instance_status> vrrp;
    std::vector<checkers::real_server_status> real_servers;
    std::optional<checkers::health_monitor::counters> checker;
    std::set<std::string, std::less<>> drained;
    std::optional<ipvs_facts> ipvs;  // none while IPVS is not programmed
    // BGP: each announced prefix and whether it is announced now (empty without announcements).
    std::vector<std::pair<std::string, bool>> bgp_prefixes;
    bool bgp = false;
};

// Appends every vigil_* family to `out` (names, labels and meaning in the README's Metrics).
void write_scrape(exposition& out, const scrape_inputs& in);

}  // namespace vigil::metrics
