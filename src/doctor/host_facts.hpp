#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/address.hpp"

namespace vigil::doctor {

struct module_facts {
    bool loaded = false;     // /sys/module/NAME
    bool available = false;  // built in, or in modules.dep (what modinfo would find)
};

struct interface_facts {
    bool admin_up = false;  // IFF_UP
    bool carrier = false;   // IFF_RUNNING
    std::vector<ip_address> addresses;
};

struct path_facts {
    bool exists = false;
    bool is_directory = false;
    unsigned mode = 0;  // permission bits, sticky included
    unsigned owner = 0;
};

// What `vigil doctor` knows of the host: a snapshot the shell (host_probe) gathers once, so the
// rules are pure and tests build facts by hand.
struct host_facts {
    bool ipvs_present = false;  // /proc/net/ip_vs
    std::map<std::string, module_facts> modules;
    // Keyed by the path under /proc/sys ("net/ipv4/conf/vrrp.51/rp_filter"); absent: no such
    // sysctl (e.g. net/ipv4/vs/* while ip_vs is not loaded).
    std::map<std::string, long> sysctls;
    // Every interface of the host (its network namespace), by name.
    std::map<std::string, interface_facts> interfaces;
    std::map<std::string, path_facts> paths;
    unsigned daemon_uid = 0;  // who runs vigil besides root
};

// Which facts the rules read for a config: the shell gathers exactly these.
struct fact_needs {
    std::set<std::string> modules;
    std::set<std::string> sysctls;
    std::set<std::string> paths;
};

}  // namespace vigil::doctor
