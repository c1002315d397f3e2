#include "doctor/rules.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "ipvs/names.hpp"

namespace vigil::doctor {

namespace {

bool needs_ipvs(const config::configuration& config) {
    bool sync_daemon = std::any_of(config.vrrp_instances.begin(), config.vrrp_instances.end(),
                                   [](const auto& i) { return i.sync_daemon.has_value(); });
    return config.global.ipvs.backend == config::ipvs_backend_choice::netlink &&
           (!config.virtual_servers.empty() || sync_daemon);
}

std::string vmac_of(const config::vrrp_instance& i) {
    if (!i.vmac_name.empty()) {
        return i.vmac_name;
    }
    bool v6 = !i.virtual_ipaddress.empty() && i.virtual_ipaddress.front().address.is_v6();
    return (v6 ? "vrrp6." : "vrrp.") + std::to_string(i.virtual_router_id);
}

std::string conf_key(const std::string& interface, const std::string& name) {
    return "net/ipv4/conf/" + interface + "/" + name;
}

std::optional<long> sysctl(const host_facts& host, const std::string& key) {
    auto it = host.sysctls.find(key);
    if (it == host.sysctls.end()) {
        return std::nullopt;
    }
    return it->second;
}

// The kernel applies the higher of conf/all and conf/IFACE for arp_ignore, arp_announce and
// rp_filter.
std::optional<long> effective(const host_facts& host, const std::string& interface,
                              const std::string& name) {
    auto all = sysctl(host, conf_key("all", name));
    auto own = sysctl(host, conf_key(interface, name));
    if (!all && !own) {
        return std::nullopt;
    }
    return std::max(all.value_or(0), own.value_or(0));
}

std::string set_sysctl(const std::string& key, long value) {
    auto name = sysctl_name(key);
    auto text = std::to_string(value);
    return "sysctl -w " + name + "=" + text + " and add '" + name + " = " + text +
           "' to /etc/sysctl.d/90-vigil.conf";
}

// Interfaces the config names, with who names them.
std::map<std::string, std::string> configured_interfaces(const config::configuration& config) {
    std::map<std::string, std::string> out;
    for (const auto& i : config.vrrp_instances) {
        out.emplace(i.interface, "VRRP instance " + i.name);
        for (const auto& t : i.track_interface) {
            out.emplace(t.name, "track_interface of " + i.name);
        }
        if (i.sync_daemon) {
            out.emplace(i.sync_daemon->interface, "sync_daemon of " + i.name);
        }
    }
    return out;
}

std::string parent_folder(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

void check_ipvs(const config::configuration& config, const host_facts& host,
                std::vector<finding>& out) {
    if (!needs_ipvs(config)) {
        return;
    }
    if (!host.ipvs_present) {
        auto it = host.modules.find("ip_vs");
        if (it != host.modules.end() && it->second.available) {
            out.push_back({"the ip_vs kernel module is not loaded (no /proc/net/ip_vs)",
                           "modprobe ip_vs, and list ip_vs in /etc/modules-load.d/vigil.conf"});
        } else {
            out.push_back({"this kernel has no IPVS (no /proc/net/ip_vs, no ip_vs module)",
                           "boot a kernel built with CONFIG_IP_VS (Debian's linux-image has it)"});
            return;  // every scheduler would be reported missing too
        }
    }
    std::map<std::string, std::string> schedulers;  // scheduler -> first virtual server
    for (const auto& vs : config.virtual_servers) {
        schedulers.emplace(std::string(ipvs::to_string(vs.scheduler)), vs.name);
    }
    for (const auto& [scheduler, vs] : schedulers) {
        auto it = host.modules.find("ip_vs_" + scheduler);
        if (it == host.modules.end() || (!it->second.loaded && !it->second.available)) {
            out.push_back({"scheduler " + scheduler + " (virtual server " + vs +
                               ") is not available: no ip_vs_" + scheduler + " module",
                           "install a kernel with the ip_vs_" + scheduler +
                               " module, or choose another scheduler"});
        }
    }
}

void check_forwarding(const config::configuration& config, const host_facts& host,
                      std::vector<finding>& out) {
    const config::virtual_server* nat4 = nullptr;
    const config::virtual_server* nat6 = nullptr;
    for (const auto& vs : config.virtual_servers) {
        if (vs.forwarding == ipvs::forwarding::nat) {
            auto& first = vs.family == address_family::ipv6 ? nat6 : nat4;
            if (!first) {
                first = &vs;
            }
        }
    }
    if (nat4 && sysctl(host, "net/ipv4/ip_forward").value_or(1) == 0) {
        out.push_back({"net.ipv4.ip_forward is 0 but virtual server " + nat4->name +
                           " uses NAT: the real servers' replies are not forwarded back",
                       set_sysctl("net/ipv4/ip_forward", 1)});
    }
    if (nat6 && sysctl(host, "net/ipv6/conf/all/forwarding").value_or(1) == 0) {
        out.push_back({"net.ipv6.conf.all.forwarding is 0 but virtual server " + nat6->name +
                           " uses NAT: the real servers' replies are not forwarded back",
                       set_sysctl("net/ipv6/conf/all/forwarding", 1)});
    }
    auto conntrack_loaded = host.modules.find("nf_conntrack");
    if (nat4 && conntrack_loaded != host.modules.end() && conntrack_loaded->second.loaded &&
        sysctl(host, "net/ipv4/vs/conntrack") == 0) {
        out.push_back(
            {"net.ipv4.vs.conntrack is 0 while nf_conntrack is loaded: netfilter does "
             "not track IPVS connections, so a stateful firewall or SNAT drops the "
             "NAT replies of virtual server " +
                 nat4->name,
             set_sysctl("net/ipv4/vs/conntrack", 1)});
    }
}

void check_expiry(const config::configuration& config, const host_facts& host,
                  std::vector<finding>& out) {
    auto removes = std::find_if(
        config.virtual_servers.begin(), config.virtual_servers.end(),
        [](const auto& vs) { return vs.on_failure == config::failure_action::remove; });
    if (removes != config.virtual_servers.end() &&
        sysctl(host, "net/ipv4/vs/expire_nodest_conn") == 0) {
        out.push_back(
            {"net.ipv4.vs.expire_nodest_conn is 0: connections to a real server vigil "
             "removed (virtual server " +
                 removes->name + ", on_failure = \"remove\") hang until they time out",
             set_sysctl("net/ipv4/vs/expire_nodest_conn", 1)});
    }
    auto persistent =
        std::find_if(config.virtual_servers.begin(), config.virtual_servers.end(),
                     [](const auto& vs) { return vs.persistence_timeout.count() > 0; });
    if (persistent != config.virtual_servers.end() &&
        sysctl(host, "net/ipv4/vs/expire_quiescent_template") == 0) {
        out.push_back(
            {"net.ipv4.vs.expire_quiescent_template is 0: persistent clients of virtual "
             "server " +
                 persistent->name +
                 " keep reaching a real server at weight 0 (drained or inhibited) "
                 "until their template expires",
             set_sysctl("net/ipv4/vs/expire_quiescent_template", 1)});
    }
}

// A virtual server announced over BGP is reached through whichever director the routers' ECMP
// picks, and a flow moves to another director when one joins or leaves. Only the same Maglev
// table on every director sends it on to the same real server there.
void check_announced_scheduling(const config::configuration& config, std::vector<finding>& out) {
    for (const auto& vs : config.virtual_servers) {
        if (!vs.announce) {
            continue;
        }
        if (vs.scheduler == ipvs::scheduler::mh) {
            // The kernel fills the Maglev table walking the destinations in list order, so
            // the order matters as much as the set: a real server removed and added back joins
            // the end of the list on that director alone. Weight 0 keeps its place.
            if (vs.on_failure == config::failure_action::remove) {
                out.push_back(
                    {"virtual server " + vs.name +
                         " is announced over BGP with on_failure = \"remove\": a real server "
                         "that fails and returns rejoins the end of this director's IPVS list, "
                         "so its mh table no longer matches the other directors' and flows "
                         "ECMP moves here may reach another real server",
                     "on_failure = \"inhibit\" in " + vs.where.file});
            }
            continue;
        }
        std::string scheduler(ipvs::to_string(vs.scheduler));
        std::string why =
            vs.scheduler == ipvs::scheduler::sh
                ? "sh agrees between directors only while their tables are the same, and "
                  "reschedules most flows when a real server comes or goes"
                : "when ECMP moves a flow to another director, that director schedules it "
                  "anew and may pick another real server, which resets the connection";
        out.push_back({"virtual server " + vs.name + " is announced over BGP but uses scheduler " +
                           scheduler + ": " + why,
                       "scheduler = \"mh\" in " + vs.where.file +
                           ", with the same real servers, order and weights on every director"});
    }
}

// Without sloppy TCP (SCTP) IPVS creates a connection only from a SYN (INIT): a director that
// ECMP hands an established flow drops it.
void check_announced_sloppy(const config::configuration& config, const host_facts& host,
                            std::vector<finding>& out) {
    const config::virtual_server* tcp = nullptr;
    const config::virtual_server* sctp = nullptr;
    for (const auto& vs : config.virtual_servers) {
        if (!vs.announce) {
            continue;
        }
        if (vs.protocol == ipvs::protocol::udp && !vs.fwmark) {
            continue;  // every UDP datagram may create a connection
        }
        // A fwmark service carries whatever its mark selects: TCP unless it says SCTP.
        auto& first = vs.protocol == ipvs::protocol::sctp ? sctp : tcp;
        if (!first) {
            first = &vs;
        }
    }
    for (auto [vs, name, start] :
         {std::tuple{tcp, "sloppy_tcp", "SYN"}, std::tuple{sctp, "sloppy_sctp", "INIT"}}) {
        auto key = std::string("net/ipv4/vs/") + name;
        if (vs && sysctl(host, key) == 0) {
            out.push_back({sysctl_name(key) + " is 0 while virtual server " + vs->name +
                               " is announced over BGP: a director that ECMP hands an "
                               "established flow drops it, having not seen its " +
                               start,
                           set_sysctl(key, 1)});
        }
    }
}

void check_interfaces(const config::configuration& config, const host_facts& host,
                      std::vector<finding>& out) {
    for (const auto& [name, who] : configured_interfaces(config)) {
        auto it = host.interfaces.find(name);
        if (it == host.interfaces.end()) {
            out.push_back({"interface " + name + " (" + who + ") does not exist",
                           "create it, or name an existing interface in " + config.main_file});
        } else if (!it->second.admin_up) {
            out.push_back(
                {"interface " + name + " (" + who + ") is down", "ip link set " + name + " up"});
        } else if (!it->second.carrier) {
            out.push_back(
                {"interface " + name + " (" + who + ") has no carrier: its instances stay in FAULT",
                 "check the cable or the peer of " + name});
        }
    }
}

void check_vmac(const config::configuration& config, const host_facts& host,
                std::vector<finding>& out) {
    for (const auto& i : config.vrrp_instances) {
        if (!i.use_vmac) {
            continue;
        }
        if (sysctl(host, conf_key("all", "rp_filter")) == 1) {
            out.push_back(
                {"net.ipv4.conf.all.rp_filter is 1 (strict): the kernel applies the "
                 "higher of all and the interface's value, so the loose filter vigil "
                 "sets on VMAC " +
                     vmac_of(i) + " of " + i.name +
                     " is overridden and traffic to its VIPs is dropped",
                 set_sysctl(conf_key("all", "rp_filter"), 2)});
        }
    }
}

// Where the config puts each VIP: the instance's interface, or its VMAC.
struct vip_owner {
    std::string instance;
    std::string interface;
    ip_prefix prefix;
};

void check_vips(const config::configuration& config, const host_facts& host,
                std::vector<finding>& out) {
    std::vector<vip_owner> vips;
    for (const auto& i : config.vrrp_instances) {
        for (const auto& p : i.virtual_ipaddress) {
            vips.push_back({i.name, i.use_vmac ? vmac_of(i) : i.interface, p});
        }
    }
    std::set<ip_address> dr_addresses;
    for (const auto& vs : config.virtual_servers) {
        if (vs.forwarding == ipvs::forwarding::dr && vs.address) {
            dr_addresses.insert(vs.address->address);
        }
    }
    for (const auto& [name, facts] : host.interfaces) {
        for (const auto& address : facts.addresses) {
            auto owner = std::find_if(vips.begin(), vips.end(),
                                      [&](const auto& v) { return v.prefix.address == address; });
            bool dr = dr_addresses.count(address) > 0;
            if (owner != vips.end() && owner->interface != name && !(dr && name == "lo")) {
                out.push_back({"VIP " + vigil::to_string(address) + " of " + owner->instance +
                                   " is configured on " + name +
                                   ", outside vigil (it belongs "
                                   "on " +
                                   owner->interface + " while MASTER)",
                               "ip address del " + vigil::to_string(address) + " dev " + name});
            }
            if (!dr || !address.is_v4() || (owner != vips.end() && owner->interface == name)) {
                continue;
            }
            // A DR VIP held on another interface (lo, as on a real server): the interfaces
            // facing clients must neither answer ARP for it nor announce it.
            for (const auto& i : config.vrrp_instances) {
                auto ignore = effective(host, i.interface, "arp_ignore");
                auto announce = effective(host, i.interface, "arp_announce");
                if ((ignore && *ignore < 1) || (announce && *announce < 2)) {
                    out.push_back({"DR VIP " + vigil::to_string(address) + " is on " + name +
                                       " and " + i.interface +
                                       " answers or announces it (arp_ignore " +
                                       std::to_string(ignore.value_or(0)) + ", arp_announce " +
                                       std::to_string(announce.value_or(0)) +
                                       "): this node draws the VIP's traffic while not MASTER",
                                   set_sysctl(conf_key("all", "arp_ignore"), 1) + "; " +
                                       set_sysctl(conf_key("all", "arp_announce"), 2)});
                }
            }
        }
    }
}

void check_folder(const std::string& what, const std::string& path, const host_facts& host,
                  std::vector<finding>& out) {
    auto it = host.paths.find(path);
    if (it == host.paths.end() || !it->second.exists) {
        return;  // vigil creates it
    }
    const auto& p = it->second;
    if (!p.is_directory) {
        out.push_back({what + " " + path + " is not a folder",
                       "remove " + path + " or name another folder in the config"});
        return;
    }
    bool sticky = (p.mode & 01000) != 0;
    if ((p.mode & 0002) && !sticky) {
        out.push_back({what + " " + path + " is writable by every user: anyone can replace " +
                           "what vigil keeps there",
                       "chmod 0750 " + path});
    } else if (p.mode & 0020) {
        out.push_back({what + " " + path + " is writable by its group", "chmod g-w " + path});
    }
    if (p.owner != 0 && p.owner != host.daemon_uid && !sticky) {
        out.push_back({what + " " + path + " belongs to uid " + std::to_string(p.owner) +
                           ", not root or vigil's user",
                       "chown root " + path});
    }
}

}  // namespace

std::string to_string(const finding& f) {
    return "warning: " + f.problem + " \u2014 fix: " + f.fix;
}

std::string sysctl_name(const std::string& key) {
    std::string out;
    std::size_t start = 0;
    while (true) {
        auto slash = key.find('/', start);
        auto part =
            key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        std::replace(part.begin(), part.end(), '.', '/');
        out += (out.empty() ? "" : ".") + part;
        if (slash == std::string::npos) {
            return out;
        }
        start = slash + 1;
    }
}

fact_needs facts_needed(const config::configuration& config) {
    fact_needs needs;
    needs.modules = {"ip_vs", "nf_conntrack"};
    for (const auto& vs : config.virtual_servers) {
        needs.modules.insert("ip_vs_" + std::string(ipvs::to_string(vs.scheduler)));
    }
    needs.sysctls = {"net/ipv4/ip_forward",
                     "net/ipv6/conf/all/forwarding",
                     "net/ipv4/vs/conntrack",
                     "net/ipv4/vs/expire_nodest_conn",
                     "net/ipv4/vs/expire_quiescent_template",
                     "net/ipv4/vs/sloppy_tcp",
                     "net/ipv4/vs/sloppy_sctp"};
    std::set<std::string> interfaces{"all"};
    for (const auto& i : config.vrrp_instances) {
        interfaces.insert(i.interface);
        if (i.use_vmac) {
            interfaces.insert(vmac_of(i));
        }
    }
    for (const auto& name : interfaces) {
        for (const char* setting : {"arp_ignore", "arp_announce", "rp_filter"}) {
            needs.sysctls.insert(conf_key(name, setting));
        }
    }
    needs.paths = {parent_folder(config.global.control_socket), config.global.state_dir};
    return needs;
}

std::vector<finding> diagnose(const config::configuration& config, const host_facts& host) {
    std::vector<finding> out;
    check_ipvs(config, host, out);
    check_forwarding(config, host, out);
    check_expiry(config, host, out);
    check_announced_scheduling(config, out);
    check_announced_sloppy(config, host, out);
    check_interfaces(config, host, out);
    check_vmac(config, host, out);
    check_vips(config, host, out);
    check_folder("the control socket's folder", parent_folder(config.global.control_socket), host,
                 out);
    check_folder("state_dir", config.global.state_dir, host, out);
    return out;
}

}  // namespace vigil::doctor
