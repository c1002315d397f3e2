#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"
#include "doctor/host_facts.hpp"

namespace vigil::doctor {

// One thing on the host that stops the config from working as written, and what to do about it.
struct finding {
    std::string problem;
    std::string fix;
};
// "warning: PROBLEM — fix: FIX"
std::string to_string(const finding& f);

// The sysctl's name as `sysctl` takes it: "net/ipv4/conf/vrrp.51/rp_filter" is
// "net.ipv4.conf.vrrp/51.rp_filter".
std::string sysctl_name(const std::string& key);

fact_needs facts_needed(const config::configuration& config);

// The host checked against the config: IPVS and its schedulers, forwarding for NAT, ARP and
// reverse-path filtering for DR and the virtual MAC, IPVS's expiry and conntrack sysctls, the
// interfaces, VIPs someone else configured, the control and state folders, and for virtual
// servers announced over BGP the Maglev scheduler and sloppy TCP/SCTP that ECMP needs. Pure.
std::vector<finding> diagnose(const config::configuration& config, const host_facts& host);

}  // namespace vigil::doctor
