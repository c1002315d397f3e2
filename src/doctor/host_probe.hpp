#pragma once

#include "doctor/host_facts.hpp"

namespace vigil::doctor {

// Reads the facts `needs` names from this host (its network namespace): /proc/net/ip_vs,
// /sys/module and /lib/modules/$(uname -r)/modules.{dep,builtin}, /proc/sys, the interfaces and
// their addresses (getifaddrs: rtnetlink underneath), and stat() of the paths. Never fails: what
// cannot be read is absent.
host_facts gather_host_facts(const fact_needs& needs);

}  // namespace vigil::doctor
