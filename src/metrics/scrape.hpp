#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "checkers/health_monitor.hpp"
#include "drain_list.hpp"
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

// Everything one scrape reads, gathered on the loop from what the engines already hold: no
// kernel dump, no probe, no file. The pointers refer to engines that outlive the scrape's turn.
struct scrape_inputs {
    daemon_facts daemon;
    std::vector<vrrp::instance_status> vrrp;
    std::vector<checkers::real_server_status> real_servers;
    std::optional<checkers::health_monitor::counters> checker;
    const drain_list* drained = nullptr;
    const ipvs::reconciler* reconciler = nullptr;
    // BGP: each announced prefix and whether it is announced now (empty without announcements).
    std::vector<std::pair<std::string, bool>> bgp_prefixes;
    bool bgp = false;
};

// Appends every vigil_* family to `out` (names, labels and meaning in the README's Metrics).
void write_scrape(exposition& out, const scrape_inputs& in);

}  // namespace vigil::metrics
