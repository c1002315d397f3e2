#include "ipvs/status.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

TEST_CASE("status shows the kernel's view beside what vigil wants and health") {
    auto svc = tcp_service("192.0.2.1:80", "wrr");
    table kernel;
    auto d = dest("10.0.0.2:80", 3);
    d.active_connections = 4;
    d.stats.connections = 10;
    put(kernel, svc, {d});
    put(kernel, tcp_service("198.51.100.1:443", "rr"));
    table desired;
    put(desired, svc, {dest("10.0.0.2:80", 3), dest("10.0.0.3:80", 1)});
    virtual_server_spec vs;
    vs.name = "web";
    vs.settings = svc;
    vs.real_servers = {{"web/10.0.0.2:80", ep("10.0.0.2:80"), 3, 0, 0},
                       {"web/10.0.0.3:80", ep("10.0.0.3:80"), 1, 0, 0}};
    health_map health{{"web/10.0.0.2:80", {true, {}}}};
    std::set<service_key> owned{svc.key};
    auto json = boost::json::serialize(status_json({kernel, desired, owned, {&vs, 1}, health}));
    CHECK(json.find("\"virtual_server\":\"web\"") != std::string::npos);
    CHECK(json.find("\"real_server\":\"web/10.0.0.2:80\"") != std::string::npos);
    CHECK(json.find("\"health\":\"up\"") != std::string::npos);
    CHECK(json.find("\"active_connections\":4") != std::string::npos);
    CHECK(json.find("\"in_sync\":false") != std::string::npos);
    CHECK(json.find("\"missing\":[\"tcp 192.0.2.1:80 -> 10.0.0.3:80\"]") != std::string::npos);
    CHECK(json.find("\"service\":\"tcp 198.51.100.1:443\",\"owned\":false") != std::string::npos);

    auto text = format_ipvsadm(kernel);
    CHECK(text == "TCP 192.0.2.1:80 wrr\n  -> 10.0.0.2:80 Masq 3 4 0\nTCP 198.51.100.1:443 rr\n");
}

TEST_CASE("ipvsadm-style text shows persistence, masks, one-packet and fwmark services") {
    table t;
    auto s = tcp_service("192.0.2.1:80", "sh");
    s.flags = service_flags::persistent | service_flags::sched_flag_1;
    s.timeout = 300;
    s.netmask = 24;
    put(t, s);
    service m;
    m.key = service_key::for_fwmark(9, address_family::ipv6);
    m.scheduler = "rr";
    m.netmask = 128;
    m.flags = service_flags::one_packet;
    put(t, m);
    CHECK(
        format_ipvsadm(t) ==
        "TCP 192.0.2.1:80 sh (sh-fallback) persistent 300 mask 255.255.255.0\nFWM 9 IPv6 rr ops\n");
}

TEST_CASE("the status section is written as text boost::json reads and writes back unchanged") {
    auto svc = tcp_service("192.0.2.1:80", "wrr");
    status_snapshot snapshot;
    snapshot.backend = "memory";
    put(snapshot.kernel, svc, {dest("10.0.0.2:80", 3), dest("10.0.0.9:80", 1)});
    put(snapshot.desired, svc, {dest("10.0.0.2:80", 3)});
    virtual_server_spec vs;
    vs.name = "web \"front\"";
    vs.settings = svc;
    vs.real_servers = {{"web/10.0.0.2:80", ep("10.0.0.2:80"), 3, 0, 0}};
    snapshot.servers = {vs};
    snapshot.health = {{"web/10.0.0.2:80", {false, {}}}};
    snapshot.virtual_servers = {{vs.name, {false, 0, true}}};
    snapshot.kernel_view_age_ms = 12.5;
    snapshot.kernel_view_operations = 7;
    std::string text;
    json_writer w(text);
    write_status_json(w, snapshot);
    CHECK(boost::json::serialize(boost::json::parse(text)) == text);
    CHECK(text.find(R"("backend":"memory","services":[{"service":"tcp 192.0.2.1:80")") !=
          std::string::npos);
    CHECK(text.find(R"("virtual_server":"web \"front\"")") != std::string::npos);
    CHECK(text.find(R"("quorum_up":false,"healthy_weight":0,"sorry_server_active":true)") !=
          std::string::npos);
    CHECK(text.find(R"("in_sync":false,"destinations":[)") != std::string::npos);
    CHECK(text.find(R"("real_server":null,"sorry_server":false,"health":null)") !=
          std::string::npos);  // 10.0.0.9 is not in the config
    CHECK(text.find(R"("health":"down")") != std::string::npos);
    CHECK(text.find(R"("missing":[],"kernel_view_age_ms":1.25E1,"kernel_view_operations":7})") !=
          std::string::npos);
}
