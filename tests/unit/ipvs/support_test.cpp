// The small pure pieces around the reconciler: pacing, sync-daemon planning, the state file,
// the status view, and the netlink backend's refusal on a kernel without IPVS.
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

#include "ipvs/netlink_backend.hpp"
#include "ipvs/state_file.hpp"
#include "ipvs/status.hpp"
#include "ipvs/sync_daemons.hpp"
#include "ipvs/sync_pacer.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

TEST_CASE("pacer: first sync at once, then rate-limited requests, retries and resyncs") {
    sync_pacer p(1000ms, 30000ms, 5000ms);
    CHECK(p.due() == time_point::min());
    CHECK(std::string(p.reason()) == "startup");
    time_point t0{10s};
    p.synced(t0, false);
    CHECK(p.due() == t0 + 30000ms);
    CHECK(std::string(p.reason()) == "resync");
    p.request();
    CHECK(p.due() == t0 + 1000ms);
    CHECK(std::string(p.reason()) == "requested");
    p.synced(t0 + 1000ms, true);
    CHECK(p.due() == t0 + 6000ms);
    CHECK(std::string(p.reason()) == "retry");

    sync_pacer never(100ms, 0ms, 1000ms);
    never.synced(t0, false);
    CHECK_FALSE(never.due());
}

TEST_CASE("sync daemon plan: master while MASTER, backup otherwise, restart on new settings") {
    sync_daemon settings{sync_role::master, "eth0", 7, 0, {}, 0, 0};
    auto plan = plan_sync_daemons(settings, sync_mode::master, {});
    REQUIRE(plan.start.size() == 1);
    CHECK(plan.start[0].role == sync_role::master);
    CHECK(plan.stop.empty());

    sync_daemon running_master{sync_role::master, "eth0", 7, 1472, {}, 8848, 1};
    CHECK(plan_sync_daemons(settings, sync_mode::master, {&running_master, 1}).empty());

    plan = plan_sync_daemons(settings, sync_mode::backup, {&running_master, 1});
    CHECK(plan.stop == std::vector<sync_role>{sync_role::master});
    REQUIRE(plan.start.size() == 1);
    CHECK(plan.start[0].role == sync_role::backup);

    auto moved = settings;
    moved.interface = "eth1";
    plan = plan_sync_daemons(moved, sync_mode::master, {&running_master, 1});
    CHECK(plan.stop.size() == 1);
    CHECK(plan.start.size() == 1);

    CHECK(plan_sync_daemons(std::nullopt, sync_mode::master, {&running_master, 1}).empty());
    plan = plan_sync_daemons(settings, sync_mode::none, {&running_master, 1});
    CHECK(plan.stop.size() == 1);
    CHECK(plan.start.empty());
}

TEST_CASE("the state file survives a round trip and refuses garbage with its line") {
    auto dir =
        std::filesystem::temp_directory_path() / ("vigil-state-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto file = dir / "sub" / "owned";
    CHECK(load_owned(file)->empty());  // first start: no file
    std::set<service_key> owned{service_key::for_address(protocol::tcp, ep("192.0.2.1:80")),
                                service_key::for_fwmark(3, address_family::ipv6)};
    REQUIRE(save_owned(file, owned).empty());
    CHECK(*load_owned(file) == owned);
    {
        std::ofstream out(file, std::ios::app);
        out << "tcp nonsense\n";
    }
    auto bad = load_owned(file);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().find(":4: not a service") != std::string::npos);
    std::filesystem::remove_all(dir);
}

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

TEST_CASE("asking for netlink on a kernel without IPVS is a clear error, never a fallback") {
    if (std::filesystem::exists("/proc/net/ip_vs")) {
        MESSAGE("this kernel has IPVS; the refusal is covered by hosts without it");
        return;
    }
    auto opened = netlink_backend::open();
    CHECK_FALSE(opened.backend);
    CHECK(opened.error.find("the kernel has no IPVS") != std::string::npos);
    CHECK(opened.error.find("modprobe ip_vs") != std::string::npos);
}
