// Integration tests of the icmp check type: loopback for both families, and (as root) a network
// namespace whose nftables drop echo requests, to see a server go down within fall × interval.

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkers/health_monitor.hpp"
#include "checkers/icmp_probe.hpp"
#include "checkers/icmp_socket.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::checkers;
using vigil::test::has_what_it_needs;
using vigil::test::skip;
using namespace std::chrono_literals;

namespace {

std::optional<probe_result> ping(boost::asio::io_context& io, icmp_socket& socket,
                                 const char* address, std::chrono::milliseconds limit = 2s) {
    icmp_probe probe(socket, *parse_address(address));
    std::optional<probe_result> result;
    probe.start([&](probe_result r) { result = std::move(r); });
    auto end = std::chrono::steady_clock::now() + limit;
    while (!result && std::chrono::steady_clock::now() < end) {
        io.run_for(5ms);
    }
    return result;
}

// Whether this process may open an ICMP socket at all (a ping socket or, as root, a raw one).
bool icmp_allowed() {
    int fd = ::socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (fd < 0) {
        fd = ::socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    }
    if (fd < 0) {
        return false;
    }
    ::close(fd);
    return true;
}

std::size_t open_descriptors() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) {
            ++n;
        }
        ::closedir(d);
    }
    return n;
}

bool run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// A namespace at the far end of a veth pair: 10.213.0.2 answers pings until drop() adds an
// nftables rule that drops echo requests.
struct pingable_namespace {
    std::string name = "vigil-icmp-" + std::to_string(::getpid());
    std::string outer = "vgi" + std::to_string(::getpid() % 100000);
    bool ready = false;
    pingable_namespace() {
        ready = run("ip netns add " + name) &&
                run("ip link add " + outer + " type veth peer name " + outer + "p") &&
                run("ip link set " + outer + "p netns " + name) &&
                run("ip addr add 10.213.0.1/30 dev " + outer) &&
                run("ip link set " + outer + " up") &&
                run("ip -n " + name + " addr add 10.213.0.2/30 dev " + outer + "p") &&
                run("ip -n " + name + " link set " + outer + "p up") &&
                run("ip -n " + name + " link set lo up");
    }
    bool drop() {
        return run("ip netns exec " + name + " nft add table inet vigil_test") &&
               run("ip netns exec " + name +
                   " nft add chain inet vigil_test input '{ type filter hook input priority 0; "
                   "}'") &&
               run("ip netns exec " + name +
                   " nft add rule inet vigil_test input icmp type echo-request drop");
    }
    ~pingable_namespace() {
        run("ip link del " + outer);
        run("ip netns del " + name);
    }
};

}  // namespace

TEST_CASE("icmp: loopback answers echoes on IPv4 and IPv6") {
    if (!has_what_it_needs(icmp_allowed(),
                           "ping socket (net.ipv4.ping_group_range) and no CAP_NET_RAW")) {
        return;
    }
    boost::asio::io_context io;
    icmp_socket v4(io.get_executor(), icmp_version::v4, 0x5151);
    icmp_socket v6(io.get_executor(), icmp_version::v6, 0x5252);
    auto r = ping(io, v4, "127.0.0.1");
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
    CHECK_FALSE(v4.kind().empty());
    MESSAGE("ICMP socket: " << std::string(v4.kind()));
    r = ping(io, v6, "::1");
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
    CHECK(v4.pending() == 0);
    CHECK(v6.pending() == 0);
}

TEST_CASE("icmp: every check of a family shares one socket") {
    if (!icmp_allowed()) {
        return;
    }
    boost::asio::io_context io;
    event_log log(std::make_unique<memory_sink>());
    random_source random{3};
    steady_clock_source clock{io.get_executor()};
    health_monitor monitor(io.get_executor(), log, random, clock, [](const health_change&) {});
    std::vector<checked_server_spec> specs;
    for (int i = 1; i <= 20; ++i) {
        checked_server_spec s;
        s.checks.emplace_back();
        s.virtual_server = "ping";
        s.endpoint = ip_endpoint{*parse_address("127.0.0." + std::to_string(i)), 80};
        s.name = "ping/" + to_string(s.endpoint);
        s.checks.front().type = check_type::icmp;
        s.checks.front().interval = 200ms;
        s.checks.front().timeout = 150ms;
        specs.push_back(s);
    }
    auto before = open_descriptors();
    monitor.update(specs);
    auto end = std::chrono::steady_clock::now() + 3s;
    auto all_checked = [&] {
        for (const auto& s : specs) {
            if (!monitor.status(s.name)->deciding().checked) {
                return false;
            }
        }
        return true;
    };
    while (!all_checked() && std::chrono::steady_clock::now() < end) {
        io.run_for(10ms);
    }
    REQUIRE(all_checked());
    for (const auto& s : specs) {
        CHECK_MESSAGE(monitor.status(s.name)->deciding().last.success,
                      monitor.status(s.name)->deciding().last.reason);
    }
    CHECK(open_descriptors() <= before + 1);
}

TEST_CASE("icmp: a host that drops echo requests goes down within fall × interval (root)") {
    if (::geteuid() != 0) {
        skip("a network namespace needs root");
        return;
    }
    pingable_namespace ns;
    if (!has_what_it_needs(ns.ready, "network namespace with a pingable host")) {
        return;
    }
    boost::asio::io_context io;
    event_log log(std::make_unique<memory_sink>());
    random_source random{5};
    steady_clock_source clock{io.get_executor()};
    std::vector<health_change> changes;
    health_monitor monitor(io.get_executor(), log, random, clock,
                           [&](const health_change& c) { changes.push_back(c); });
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = "ping";
    s.endpoint = ip_endpoint{*parse_address("10.213.0.2"), 80};
    s.name = "ping/10.213.0.2:80";
    s.checks.front().type = check_type::icmp;
    s.checks.front().interval = 300ms;
    s.checks.front().recheck_interval = 300ms;
    s.checks.front().timeout = 200ms;
    s.checks.front().fall = 3;
    monitor.update({s});
    auto end = std::chrono::steady_clock::now() + 2s;
    while (!monitor.status(s.name)->deciding().checked && std::chrono::steady_clock::now() < end) {
        io.run_for(10ms);
    }
    REQUIRE(monitor.status(s.name)->deciding().last.success);

    REQUIRE(ns.drop());
    auto dropped = std::chrono::steady_clock::now();
    end = dropped + 5s;
    while (monitor.status(s.name)->state != health::down &&
           std::chrono::steady_clock::now() < end) {
        io.run_for(10ms);
    }
    auto took = std::chrono::steady_clock::now() - dropped;
    CHECK(monitor.status(s.name)->state == health::down);
    CHECK(monitor.status(s.name)->deciding().last.reason == "timeout");
    // fall × interval, plus one interval for the probe in flight and the jitter.
    CHECK(took < 4 * 300ms + 200ms);
}
