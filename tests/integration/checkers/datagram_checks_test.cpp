// Integration tests of the UDP and DNS check types against real servers on loopback: dnsmasq
// serving a zone this file writes, and datagram_servers.py for what dnsmasq will not do (echo,
// silence, a wrong query ID, truncation). No root needed.

#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checkers/dns_probe.hpp"
#include "checkers/health_monitor.hpp"
#include "checkers/udp_probe.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::checkers;
using vigil::test::child;
using vigil::test::has_what_it_needs;
using vigil::test::skip;
using namespace std::chrono_literals;

namespace {

// A loopback port no one listens on (UDP and TCP): bound, noted, closed.
std::uint16_t unused_port() {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
}

ip_endpoint loopback(std::uint16_t port, const char* address = "127.0.0.1") {
    return ip_endpoint{*parse_address(address), port};
}

struct datagram_servers {
    child process;
    std::map<std::string, std::uint16_t> ports;
    datagram_servers() {
        auto line = process.start(
            {"/usr/bin/python3", std::string(VIGIL_SOURCE_DIR) + "/tests/integration/checkers/"
                                                                 "datagram_servers.py"},
            true);
        REQUIRE_MESSAGE(!line.empty(), "datagram_servers.py did not start");
        ports = vigil::test::read_ports(line);
    }
};

datagram_servers& servers() {
    static datagram_servers instance;
    return instance;
}

// Runs one probe to its end (or `limit`) on a fresh loop.
template <class Make>
std::optional<probe_result> run_probe(Make make, std::chrono::milliseconds limit = 3s) {
    boost::asio::io_context io;
    auto p = make(io.get_executor());
    std::optional<probe_result> result;
    p->start([&](probe_result r) { result = std::move(r); });
    auto end = std::chrono::steady_clock::now() + limit;
    while (!result && std::chrono::steady_clock::now() < end) {
        io.run_for(5ms);
    }
    return result;
}

std::optional<probe_result> udp_check(const ip_endpoint& target, const udp_spec& spec,
                                      std::chrono::milliseconds timeout = 1000ms) {
    return run_probe(
        [&](auto ex) { return std::make_unique<udp_probe>(ex, target, spec, timeout); });
}

std::optional<probe_result> dns_check(const ip_endpoint& target, const dns_spec& spec) {
    random_source random{42};
    return run_probe(
        [&](auto ex) { return std::make_unique<dns_probe>(ex, target, spec, random); });
}

// dnsmasq answering for test. only from the names below, on a port of its own.
struct dns_server {
    child process;
    std::uint16_t port = unused_port();
    dns_server() {
        if (::access("/usr/sbin/dnsmasq", X_OK) != 0) {
            return;
        }
        process.start(
            {"/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--pid-file=", "--user=" + user(), "--port=" + std::to_string(port),
             "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/test/",
             "--address=/ok.test/127.0.0.9", "--mx-host=ok.test,mail.ok.test,10",
             "--txt-record=ok.test,hello world", "--srv-host=_http._tcp.ok.test,ok.test,80,1,5"},
            false);
        // Ready once it answers.
        dns_spec ready;
        ready.name = "ok.test";
        for (int i = 0; i < 100; ++i) {
            auto r = dns_check(loopback(port), ready);
            if (r && r->success) {
                return;
            }
            usleep(30000);
        }
        FAIL("dnsmasq did not answer on port " << port);
    }
    static std::string user() { return geteuid() == 0 ? "root" : ""; }
    bool available() const { return process.pid > 0; }
};

dns_server& dnsmasq() {
    static dns_server instance;
    return instance;
}

dns_spec question(const char* name, dns_record_type type = dns_record_type::a) {
    dns_spec spec;
    spec.name = name;
    spec.type = type;
    return spec;
}

}  // namespace

TEST_CASE("udp: a reply that contains the expected bytes or matches the regex passes") {
    udp_spec spec;
    spec.send = "ping";
    spec.expect = "PONG ping";
    auto r = udp_check(loopback(servers().ports["echo"]), spec);
    REQUIRE(r);
    CHECK(r->success);
    spec.expect.clear();
    spec.expect_regex = "^PONG p.ng$";
    r = udp_check(loopback(servers().ports["echo"]), spec);
    REQUIRE(r);
    CHECK(r->success);
    spec.expect_regex = "^PONG x$";
    r = udp_check(loopback(servers().ports["echo"]), spec);
    REQUIRE(r);
    CHECK(r->reason == "reply mismatch");
}

TEST_CASE("udp: IPv6 works as IPv4 does") {
    udp_spec spec;
    spec.send = std::string("\x00\x01", 2);
    spec.expect = std::string("PONG \x00\x01", 7);
    auto r = udp_check(loopback(servers().ports["echo6"], "::1"), spec);
    REQUIRE(r);
    CHECK(r->success);
}

TEST_CASE("udp: a closed port fails at once as port unreachable, for IPv4 and IPv6") {
    udp_spec spec;
    spec.send = "ping";
    for (const char* address : {"127.0.0.1", "::1"}) {
        auto started = std::chrono::steady_clock::now();
        auto r = udp_check(loopback(unused_port(), address), spec, 2000ms);
        REQUIRE(r);
        CHECK_FALSE(r->success);
        CHECK(r->reason == "port unreachable");
        CHECK(std::chrono::steady_clock::now() - started < 500ms);
    }
    // Also when no reply is required: the ICMP error is the failure.
    spec.require_reply = false;
    auto r = udp_check(loopback(unused_port()), spec, 2000ms);
    REQUIRE(r);
    CHECK(r->reason == "port unreachable");
}

TEST_CASE("udp: silence is a timeout unless no reply is required") {
    udp_spec spec;
    spec.send = "ping";
    auto r = udp_check(loopback(servers().ports["silent"]), spec, 400ms);
    CHECK_FALSE(r);  // still waiting when the engine's timeout would fire
    spec.require_reply = false;
    r = udp_check(loopback(servers().ports["silent"]), spec, 400ms);
    REQUIRE(r);
    CHECK(r->success);
}

TEST_CASE("udp: the engine takes a silent server down after fall timeouts") {
    boost::asio::io_context io;
    event_log log(std::make_unique<memory_sink>());
    random_source random{7};
    steady_clock_source clock{io.get_executor()};
    std::vector<health_change> changes;
    health_monitor monitor(io.get_executor(), log, random, clock,
                           [&](const health_change& c) { changes.push_back(c); });
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = "dns";
    s.endpoint = loopback(servers().ports["silent"]);
    s.name = "dns/" + to_string(s.endpoint);
    s.checks.front().type = check_type::udp;
    s.checks.front().interval = 200ms;
    s.checks.front().recheck_interval = 100ms;
    s.checks.front().timeout = 150ms;
    s.checks.front().fall = 2;
    s.checks.front().udp.send = "ping";
    monitor.update({s});
    auto end = std::chrono::steady_clock::now() + 3s;
    while (monitor.status(s.name)->state != health::down &&
           std::chrono::steady_clock::now() < end) {
        io.run_for(10ms);
    }
    CHECK(monitor.status(s.name)->state == health::down);
    CHECK(monitor.status(s.name)->deciding().last.reason == "timeout");
}

TEST_CASE("dns: an existing name passes, with its answer when one is required") {
    if (!has_what_it_needs(dnsmasq().available(), "dnsmasq")) {
        return;
    }
    auto server = loopback(dnsmasq().port);
    auto spec = question("ok.test");
    spec.answer = "127.0.0.9";
    auto r = dns_check(server, spec);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
    spec.answer = "127.0.0.10";
    r = dns_check(server, spec);
    REQUIRE(r);
    CHECK(r->reason == "DNS answer has no A 127.0.0.10");

    auto mx = question("ok.test", dns_record_type::mx);
    mx.answer = "10 mail.ok.test";
    r = dns_check(server, mx);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
    auto txt = question("ok.test", dns_record_type::txt);
    txt.answer = "hello world";
    r = dns_check(server, txt);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
    auto srv = question("_http._tcp.ok.test", dns_record_type::srv);
    srv.answer = "1 5 80 ok.test";
    r = dns_check(server, srv);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
}

TEST_CASE("dns: TCP only asks over TCP") {
    if (!dnsmasq().available()) {
        return;
    }
    auto spec = question("ok.test");
    spec.transport = dns_transport::tcp;
    spec.answer = "127.0.0.9";
    auto r = dns_check(loopback(dnsmasq().port), spec);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
}

TEST_CASE("dns: NXDOMAIN fails unless it is the expected rcode") {
    if (!dnsmasq().available()) {
        return;
    }
    auto spec = question("missing.test");
    auto r = dns_check(loopback(dnsmasq().port), spec);
    REQUIRE(r);
    CHECK(r->reason == "DNS rcode NXDOMAIN, expected NOERROR");
    spec.rcode = 3;
    r = dns_check(loopback(dnsmasq().port), spec);
    REQUIRE(r);
    CHECK(r->success);
}

TEST_CASE("dns: a stopped server fails at once") {
    auto r = dns_check(loopback(unused_port()), question("ok.test"));
    REQUIRE(r);
    CHECK(r->reason == "connection refused");
}

TEST_CASE("dns: an answer with the wrong query ID fails") {
    auto r = dns_check(loopback(servers().ports["wrong_id"]), question("ok.test"));
    REQUIRE(r);
    CHECK_FALSE(r->success);
    CHECK(r->reason.rfind("DNS answer with ID ", 0) == 0);
}

TEST_CASE("dns: a truncated UDP answer is asked again over TCP") {
    auto spec = question("ok.test");
    spec.answer = "127.0.0.7";  // only the TCP answer carries it
    auto r = dns_check(loopback(servers().ports["truncated"]), spec);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
}
