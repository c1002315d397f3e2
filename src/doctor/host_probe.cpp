#include "doctor/host_probe.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace vigil::doctor {

namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// modules.dep and modules.builtin name every module this kernel can load or has built in, as
// "kernel/net/netfilter/ipvs/ip_vs_wrr.ko[.xz]": what modinfo would find, without running it.
bool listed(const std::string& list, const std::string& module) {
    for (auto at = list.find("/" + module + ".ko"); at != std::string::npos;
         at = list.find("/" + module + ".ko", at + 1)) {
        auto end = at + module.size() + 4;
        if (end >= list.size() || list[end] == ':' || list[end] == '.' || list[end] == '\n') {
            return true;
        }
    }
    return false;
}

void gather_interfaces(host_facts& facts) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return;
    }
    for (auto* i = list; i; i = i->ifa_next) {
        auto& entry = facts.interfaces[i->ifa_name];
        entry.admin_up = (i->ifa_flags & IFF_UP) != 0;
        entry.carrier = (i->ifa_flags & IFF_RUNNING) != 0;
        if (!i->ifa_addr) {
            continue;
        }
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            entry.addresses.push_back(boost::asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            boost::asio::ip::address_v6::bytes_type bytes;
            std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr),
                      bytes.begin());
            entry.addresses.push_back(boost::asio::ip::address_v6(bytes));
        }
    }
    ::freeifaddrs(list);
}

}  // namespace

host_facts gather_host_facts(const fact_needs& needs) {
    host_facts facts;
    facts.ipvs_present = exists("/proc/net/ip_vs");
    utsname uts{};
    ::uname(&uts);
    std::string modules_dir = std::string("/lib/modules/") + uts.release;
    auto known = read_text(modules_dir + "/modules.dep") + "\n" +
                 read_text(modules_dir + "/modules.builtin");
    for (const auto& name : needs.modules) {
        module_facts m;
        m.loaded = exists("/sys/module/" + name);
        m.available = m.loaded || listed(known, name);
        facts.modules[name] = m;
    }
    for (const auto& key : needs.sysctls) {
        std::ifstream in("/proc/sys/" + key);
        long value = 0;
        if (in >> value) {
            facts.sysctls[key] = value;
        }
    }
    gather_interfaces(facts);
    for (const auto& path : needs.paths) {
        path_facts p;
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) {
            p.exists = true;
            p.is_directory = S_ISDIR(st.st_mode);
            p.mode = st.st_mode & 07777;
            p.owner = st.st_uid;
        }
        facts.paths[path] = p;
    }
    facts.daemon_uid = ::geteuid();
    return facts;
}

}  // namespace vigil::doctor
