#include "doctor/rules.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/loader.hpp"

using namespace vigil;
using namespace vigil::doctor;

namespace {

config::configuration load(const std::string& main, const std::string& web = "") {
    char pattern[] = "/tmp/vigil-doctor-test-XXXXXX";
    std::filesystem::path dir = ::mkdtemp(pattern);
    std::filesystem::create_directories(dir / "conf.d");
    std::string include = web.empty() ? "" : "include = [\"conf.d/*.toml\"]\n";
    std::ofstream(dir / "vigil.toml") << "[global]\nnode = \"lb1\"\n" + include +
                                             "control_socket = \"/run/vigil/vigil.sock\"\n"
                                             "state_dir = \"/var/lib/vigil\"\n" +
                                             main;
    if (!web.empty()) {
        std::ofstream(dir / "conf.d/web.toml") << web;
    }
    auto loaded = config::load_configuration((dir / "vigil.toml").string());
    std::filesystem::remove_all(dir);
    std::string errors;
    for (const auto& d : loaded.diagnostics) {
        errors += config::to_string(d) + "\n";
    }
    INFO(errors);
    REQUIRE(loaded.config);
    return std::move(*loaded.config);
}

const std::string vi1 =
    "[[vrrp_instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvirtual_router_id = 51\n"
    "virtual_ipaddress = [\"192.0.2.200/24\"]\n";

std::string web(const std::string& forwarding, const std::string& extra = "") {
    return "[virtual_server]\naddress = \"192.0.2.200:80\"\nscheduler = \"wrr\"\nforwarding = \"" +
           forwarding + "\"\n" + extra +
           "[[virtual_server.real_server]]\naddress = \"192.0.2.11:80\"\n";
}

// A host on which the example works: IPVS loaded, every sysctl as the rules want it, eth0 up.
host_facts healthy_host() {
    host_facts h;
    h.ipvs_present = true;
    h.modules["ip_vs"] = {true, true};
    h.modules["ip_vs_wrr"] = {false, true};
    h.modules["nf_conntrack"] = {false, true};
    h.sysctls = {{"net/ipv4/ip_forward", 1},
                 {"net/ipv6/conf/all/forwarding", 1},
                 {"net/ipv4/vs/conntrack", 0},
                 {"net/ipv4/vs/expire_nodest_conn", 1},
                 {"net/ipv4/vs/expire_quiescent_template", 1},
                 {"net/ipv4/conf/all/rp_filter", 2},
                 {"net/ipv4/conf/all/arp_ignore", 0},
                 {"net/ipv4/conf/all/arp_announce", 0},
                 {"net/ipv4/conf/eth0/arp_ignore", 0},
                 {"net/ipv4/conf/eth0/arp_announce", 0}};
    h.interfaces["lo"] = {true, true, {boost::asio::ip::make_address("127.0.0.1")}};
    h.interfaces["eth0"] = {true, true, {boost::asio::ip::make_address("192.0.2.1")}};
    h.paths["/run/vigil"] = {true, true, 0750, 0};
    h.paths["/var/lib/vigil"] = {true, true, 0755, 0};
    return h;
}

bool mentions(const std::vector<finding>& findings, const std::string& text) {
    return std::any_of(findings.begin(), findings.end(),
                       [&](const auto& f) { return to_string(f).find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("doctor: a host set up for the config has no findings") {
    auto findings = diagnose(load(vi1, web("nat")), healthy_host());
    for (const auto& f : findings) {
        INFO(to_string(f));
    }
    CHECK(findings.empty());
}

TEST_CASE("doctor: a finding is one line with its fix") {
    CHECK(to_string({"x is wrong", "do y"}) == "warning: x is wrong \u2014 fix: do y");
}

TEST_CASE("doctor: sysctl names keep the dots of interface names") {
    CHECK(sysctl_name("net/ipv4/conf/vrrp.51/rp_filter") == "net.ipv4.conf.vrrp/51.rp_filter");
    CHECK(sysctl_name("net/ipv4/ip_forward") == "net.ipv4.ip_forward");
}

TEST_CASE("doctor: no IPVS in the kernel is one finding, a module not loaded another") {
    auto host = healthy_host();
    host.ipvs_present = false;
    host.modules["ip_vs"] = {false, false};
    auto findings = diagnose(load(vi1, web("nat")), host);
    REQUIRE(findings.size() == 1);
    CHECK(mentions(findings, "this kernel has no IPVS"));
    host.modules["ip_vs"] = {false, true};
    CHECK(mentions(diagnose(load(vi1, web("nat")), host), "modprobe ip_vs"));
}

TEST_CASE("doctor: the memory backend needs no IPVS") {
    auto host = healthy_host();
    host.ipvs_present = false;
    auto config = load(vi1 + "[global.ipvs]\nbackend = \"memory\"\n", web("nat"));
    CHECK_FALSE(mentions(diagnose(config, host), "IPVS"));
}

TEST_CASE("doctor: a scheduler without its module is named with its virtual server") {
    auto host = healthy_host();
    host.modules["ip_vs_wrr"] = {false, false};
    auto findings = diagnose(load(vi1, web("nat")), host);
    REQUIRE(findings.size() == 1);
    CHECK(mentions(findings, "scheduler wrr (virtual server web) is not available"));
}

TEST_CASE("doctor: NAT needs ip_forward, DR does not") {
    auto host = healthy_host();
    host.sysctls["net/ipv4/ip_forward"] = 0;
    CHECK(mentions(diagnose(load(vi1, web("nat")), host),
                   "net.ipv4.ip_forward is 0 but virtual server web uses NAT"));
    CHECK(mentions(diagnose(load(vi1, web("nat")), host), "sysctl -w net.ipv4.ip_forward=1"));
    CHECK_FALSE(mentions(diagnose(load(vi1, web("dr")), host), "ip_forward"));
}

TEST_CASE("doctor: NAT with conntrack loaded wants net.ipv4.vs.conntrack") {
    auto host = healthy_host();
    host.modules["nf_conntrack"] = {true, true};
    CHECK(mentions(diagnose(load(vi1, web("nat")), host), "net.ipv4.vs.conntrack=1"));
}

TEST_CASE("doctor: expiry sysctls follow on_failure and persistence") {
    auto host = healthy_host();
    host.sysctls["net/ipv4/vs/expire_nodest_conn"] = 0;
    host.sysctls["net/ipv4/vs/expire_quiescent_template"] = 0;
    auto plain = diagnose(load(vi1, web("nat", "on_failure = \"inhibit\"\n")), host);
    CHECK(plain.empty());
    auto findings = diagnose(load(vi1, web("nat", "persistence_timeout = \"5m\"\n")), host);
    CHECK(mentions(findings, "expire_nodest_conn"));
    CHECK(mentions(findings, "expire_quiescent_template"));
}

TEST_CASE("doctor: missing, down and carrier-less interfaces") {
    auto host = healthy_host();
    host.interfaces.erase("eth0");
    CHECK(
        mentions(diagnose(load(vi1), host), "interface eth0 (VRRP instance VI_1) does not exist"));
    host.interfaces["eth0"] = {false, false, {}};
    CHECK(mentions(diagnose(load(vi1), host), "ip link set eth0 up"));
    host.interfaces["eth0"] = {true, false, {}};
    CHECK(mentions(diagnose(load(vi1), host), "has no carrier"));
}

TEST_CASE("doctor: a strict all.rp_filter overrides the VMAC's loose one") {
    auto host = healthy_host();
    host.sysctls["net/ipv4/conf/all/rp_filter"] = 1;
    CHECK_FALSE(mentions(diagnose(load(vi1), host), "rp_filter"));
    auto findings = diagnose(load(vi1 + "use_vmac = true\n"), host);
    CHECK(mentions(findings, "VMAC vrrp.51 of VI_1"));
    CHECK(mentions(findings, "net.ipv4.conf.all.rp_filter=2"));
}

TEST_CASE("doctor: a VIP configured on another interface is named with the command to remove it") {
    auto host = healthy_host();
    host.interfaces["eth1"] = {true, true, {boost::asio::ip::make_address("192.0.2.200")}};
    auto findings = diagnose(load(vi1), host);
    CHECK(mentions(findings, "VIP 192.0.2.200 of VI_1 is configured on eth1"));
    CHECK(mentions(findings, "ip address del 192.0.2.200 dev eth1"));
    // On its own interface it is vigil's (or stale from a crash, which vigil clears itself).
    host.interfaces.erase("eth1");
    host.interfaces["eth0"].addresses.push_back(boost::asio::ip::make_address("192.0.2.200"));
    CHECK(diagnose(load(vi1), host).empty());
}

TEST_CASE("doctor: a DR VIP on lo needs arp_ignore and arp_announce on the VRRP interface") {
    auto host = healthy_host();
    host.interfaces["lo"].addresses.push_back(boost::asio::ip::make_address("192.0.2.200"));
    auto findings = diagnose(load(vi1, web("dr")), host);
    REQUIRE(findings.size() == 1);
    CHECK(mentions(findings, "DR VIP 192.0.2.200 is on lo and eth0 answers or announces it"));
    host.sysctls["net/ipv4/conf/all/arp_ignore"] = 1;
    host.sysctls["net/ipv4/conf/eth0/arp_announce"] = 2;
    CHECK(diagnose(load(vi1, web("dr")), host).empty());
}

TEST_CASE("doctor: folders writable by others, or owned by someone else, are findings") {
    auto host = healthy_host();
    host.paths["/run/vigil"].mode = 0777;
    host.paths["/var/lib/vigil"].owner = 1234;
    auto findings = diagnose(load(vi1), host);
    CHECK(mentions(findings, "/run/vigil is writable by every user"));
    CHECK(mentions(findings, "chmod 0750 /run/vigil"));
    CHECK(mentions(findings, "/var/lib/vigil belongs to uid 1234"));
    host = healthy_host();
    host.paths["/var/lib/vigil"] = {};  // vigil creates it
    CHECK(diagnose(load(vi1), host).empty());
}

namespace {

// A virtual server announced over BGP (`announce = {}`: its address as a /32).
std::string announced(const std::string& scheduler, const std::string& protocol = "tcp",
                      bool announce = true) {
    return "[virtual_server]\naddress = \"192.0.2.200:80\"\nprotocol = \"" + protocol +
           "\"\nscheduler = \"" + scheduler + "\"\nforwarding = \"dr\"\n" +
           (announce ? "announce = {}\non_failure = \"inhibit\"\n" : "") +
           "[[virtual_server.real_server]]\naddress = \"192.0.2.11:80\"\n";
}

host_facts announcing_host() {
    auto host = healthy_host();
    for (const char* scheduler : {"ip_vs_mh", "ip_vs_sh", "ip_vs_rr"}) {
        host.modules[scheduler] = {true, true};
    }
    host.sysctls["net/ipv4/vs/sloppy_tcp"] = 1;
    host.sysctls["net/ipv4/vs/sloppy_sctp"] = 1;
    return host;
}

}  // namespace

TEST_CASE("doctor: an announced virtual server set up for ECMP has no findings") {
    auto findings = diagnose(load("", announced("mh")), announcing_host());
    for (const auto& f : findings) {
        INFO(to_string(f));
    }
    CHECK(findings.empty());
}

TEST_CASE("doctor: an announced virtual server must schedule with mh") {
    auto host = announcing_host();
    auto findings = diagnose(load("", announced("rr")), host);
    REQUIRE(findings.size() == 1);
    CHECK(mentions(findings, "virtual server web is announced over BGP but uses scheduler rr"));
    CHECK(mentions(findings, "another real server, which resets the connection"));
    CHECK(mentions(findings, "fix: scheduler = \"mh\" in "));
    CHECK(mentions(findings, "same real servers, order and weights on every director"));
    // sh agrees between directors too, but not across a change of the real servers.
    CHECK(mentions(diagnose(load("", announced("sh")), host), "reschedules most flows"));
    // Held by VRRP, one director sees the whole flow: any scheduler does.
    CHECK(diagnose(load(vi1, announced("rr", "tcp", false)), host).empty());
}

TEST_CASE("doctor: an announced mh virtual server keeps its real servers' places (inhibit)") {
    auto config = load("", announced("mh"));
    config.virtual_servers.front().on_failure = config::failure_action::remove;
    auto findings = diagnose(config, announcing_host());
    REQUIRE(findings.size() == 1);
    CHECK(mentions(findings, "announced over BGP with on_failure = \"remove\""));
    CHECK(mentions(findings, "its mh table no longer matches the other directors'"));
    CHECK(mentions(findings, "fix: on_failure = \"inhibit\" in "));
}

TEST_CASE("doctor: announced TCP needs sloppy_tcp, SCTP sloppy_sctp, UDP neither") {
    auto host = announcing_host();
    host.sysctls["net/ipv4/vs/sloppy_tcp"] = 0;
    host.sysctls["net/ipv4/vs/sloppy_sctp"] = 0;
    auto tcp = diagnose(load("", announced("mh")), host);
    REQUIRE(tcp.size() == 1);
    CHECK(mentions(tcp, "net.ipv4.vs.sloppy_tcp is 0 while virtual server web is announced"));
    CHECK(mentions(tcp, "having not seen its SYN"));
    CHECK(mentions(tcp, "sysctl -w net.ipv4.vs.sloppy_tcp=1"));
    auto sctp = diagnose(load("", announced("mh", "sctp")), host);
    REQUIRE(sctp.size() == 1);
    CHECK(mentions(sctp, "net.ipv4.vs.sloppy_sctp is 0"));
    CHECK(mentions(sctp, "its INIT"));
    CHECK(diagnose(load("", announced("mh", "udp")), host).empty());
    // Not announced: a VRRP pair's MASTER sees every flow start.
    CHECK(diagnose(load(vi1, announced("mh", "tcp", false)), host).empty());
    // ip_vs not loaded: no sysctl to read, and the missing IPVS is the finding.
    host.sysctls.erase("net/ipv4/vs/sloppy_tcp");
    CHECK_FALSE(mentions(diagnose(load("", announced("mh")), host), "sloppy"));
}

TEST_CASE("doctor: the sloppy sysctls are among the facts gathered") {
    auto needs = facts_needed(load("", announced("mh")));
    CHECK(needs.sysctls.count("net/ipv4/vs/sloppy_tcp") == 1);
    CHECK(needs.sysctls.count("net/ipv4/vs/sloppy_sctp") == 1);
    CHECK(needs.modules.count("ip_vs_mh") == 1);
}
