#include "status.hpp"

#include "status_document.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

using namespace vigil;
using namespace std::chrono_literals;

TEST_CASE("uptime reads as days, hours, minutes and seconds") {
    CHECK(format_uptime(0s) == "0s");
    CHECK(format_uptime(59s) == "59s");
    CHECK(format_uptime(61s) == "1m1s");
    CHECK(format_uptime(3600s) == "1h0m0s");
    CHECK(format_uptime(90061s) == "1d1h1m1s");
}

TEST_CASE("the text status is rendered from the JSON document") {
    daemon_status status;
    status.version = "1.2.3";
    status.node = "lb1";
    status.pid = 42;
    status.uptime = 75s;
    status.config_file = "/etc/vigil/vigil.toml";
    status.vrrp_instances = 1;
    status.virtual_servers = 2;
    status.real_servers = 5;
    status.reloads_applied = 3;
    status.reloads_rejected = 1;
    status.last_rejection = "x.toml:1:1: error: bad";
    auto json = to_json(status);
    CHECK(json.at("daemon").at("pid").as_int64() == 42);
    CHECK(json.at("config").at("real_servers").to_number<std::uint64_t>() == 5);
    auto text = render_status_text(json);
    CHECK(text.find("vigil 1.2.3 on lb1, pid 42, up 1m15s") != std::string::npos);
    CHECK(text.find("1 VRRP instance, 2 virtual servers, 5 real servers") != std::string::npos);
    CHECK(text.find("3 applied, 1 rejected") != std::string::npos);
    CHECK(text.find("last rejected: x.toml:1:1: error: bad") != std::string::npos);
}

TEST_CASE("the text status shows each real server's configured and applied weight") {
    daemon_status status;
    status.node = "lb1";
    auto json = to_json(status);
    json["ipvs"] = boost::json::parse(R"({
        "backend": "memory", "missing": [],
        "services": [{
            "service": "tcp 10.0.0.100:80", "owned": true, "virtual_server": "web",
            "scheduler": "wrr", "quorum_up": true, "in_sync": true,
            "destinations": [
                {"real_server": "web/10.0.0.11:80", "weight": 3, "active_connections": 4},
                {"real_server": "web/10.0.0.12:80", "weight": 0, "active_connections": 1}]},
            {"service": "udp 10.0.0.53:53", "owned": false, "virtual_server": null,
             "scheduler": "rr", "quorum_up": null, "in_sync": null, "destinations": []}]})");
    auto real_server = [](const char* name, const char* state) {
        return boost::json::object{{"name", name},    {"state", state},
                                   {"weight", 3},     {"check", "http"},
                                   {"checked", true}, {"last_result", "ok"},
                                   {"latency_ms", 2}, {"since", "2026-01-01T00:00:00Z"}};
    };
    json["real_servers"] = boost::json::array{real_server("web/10.0.0.11:80", "up"),
                                              real_server("web/10.0.0.12:80", "up"),
                                              real_server("web/10.0.0.13:80", "down")};
    json["drained"] = boost::json::array{"web/10.0.0.12:80"};
    auto text = render_status_text(json);
    auto line_of = [&](std::string_view start) {
        auto at = text.find(start);
        REQUIRE(at != std::string::npos);
        auto line = text.substr(at, text.find('\n', at) - at);
        // Columns are padded to width; compare with single spaces.
        std::string squeezed;
        for (char c : line) {
            if (c != ' ' || squeezed.empty() || squeezed.back() != ' ') {
                squeezed += c;
            }
        }
        return squeezed;
    };
    CHECK(line_of("VIRTUAL SERVER") == "VIRTUAL SERVER SERVICE SCHEDULER QUORUM ACTIVE KERNEL");
    CHECK(line_of("web ") == "web tcp 10.0.0.100:80 wrr up 5 in sync");
    CHECK(line_of("(not vigil's)") == "(not vigil's) udp 10.0.0.53:53 rr - 0 -");
    CHECK(line_of("web/10.0.0.11:80") ==
          "web/10.0.0.11:80 up 3 3 http ok 2ms 2026-01-01T00:00:00Z");
    CHECK(line_of("web/10.0.0.12:80") ==
          "web/10.0.0.12:80 up, drained 3 0 http ok 2ms 2026-01-01T00:00:00Z");
    CHECK(line_of("web/10.0.0.13:80") ==
          "web/10.0.0.13:80 down 3 - http ok 2ms 2026-01-01T00:00:00Z");
}

TEST_CASE("the status document is written as text boost::json reads and writes back unchanged") {
    status_snapshot snapshot;
    snapshot.daemon.version = "1.2.3";
    snapshot.daemon.node = "lb\t1";
    snapshot.daemon.uptime = 1500ms;
    vrrp::instance_status instance;
    instance.name = "VI_1";
    instance.interface = "eth0";
    instance.virtual_router_id = 51;
    instance.priority = 150;
    instance.dropped = {{"bad_ttl", 4}};
    snapshot.daemon.vrrp.push_back(instance);
    checkers::real_server_status checked;
    checked.name = "web/10.0.0.2:80";
    checked.virtual_server = "web";
    auto& http = checked.checks.emplace_back();
    http.name = "http";
    http.checked = true;
    http.last = checkers::probe_result::ok();
    http.last.latency = 3ms;
    checkers::real_server_status unchecked;
    unchecked.name = "web/10.0.0.3:80";
    unchecked.virtual_server = "web";
    unchecked.state = checkers::health::down;
    unchecked.checks.emplace_back().state = checkers::health::down;
    snapshot.real_servers = {checked, unchecked};
    snapshot.drained = {"web/10.0.0.3:80"};
    snapshot.ipvs.emplace();
    snapshot.ipvs->backend = "memory";
    auto text = render_status(snapshot);
    CHECK(boost::json::serialize(boost::json::parse(text)) == text);
    auto json = status_json(snapshot);
    CHECK(json.at("daemon").at("node").as_string() == "lb\t1");
    CHECK(json.at("daemon").at("uptime_seconds").as_double() == 1.5);
    CHECK(json.at("vrrp_instances").at(0).at("dropped").at("bad_ttl").to_number<int>() == 4);
    CHECK(json.at("vrrp_instances").at(0).at("master").is_null());
    CHECK(json.at("real_servers").at(0).at("latency_ms").to_number<int>() == 3);
    CHECK_FALSE(json.at("real_servers").at(1).as_object().contains("last_result"));
    CHECK(json.at("real_servers").at(1).at("state").as_string() == "down");
    CHECK(json.at("drained").at(0).as_string() == "web/10.0.0.3:80");
    CHECK(json.at("ipvs").at("kernel_view_age_ms").is_null());
    // render_status_text reads the same document.
    CHECK(render_status_text(json).find("web/10.0.0.3:80") != std::string::npos);
}

TEST_CASE("the bgp section is written as the document boost::json would serialize") {
    bgp_status bgp;
    bgp.bird_socket = "/run/bird/bird.ctl";
    bgp.include_file = "/run/vigil-bird/vigil.conf";
    bgp.liveness_interface = "vigil-live";
    bgp.liveness_up = true;
    bgp.bird_reachable = true;
    bgp.last_error = "say \"no\"";
    bgp.node_mode = "draining";
    bgp.hold_down_ms = 30000;
    bgp_status::announcement held;
    held.prefix = "192.0.2.0/24";
    held.protocol = "vigil_web";
    held.virtual_servers = {"web", "web-tls"};
    held.state = "hold_down";
    held.reason = "hold_down";
    held.med = 4294967295u;
    held.since = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
    held.hold_down_left_ms = -5;
    held.bird_state = "up";
    bgp_status::announcement plain = held;
    plain.state = "announced";
    plain.hold_down_left_ms.reset();
    plain.bird_state.reset();
    bgp.announcements = {held, plain};
    bgp.bird_protocols = {{"vigil_web", "Static", "master4", "up", "2026-01-01", "é"}};
    bgp.bird_protocols_at = held.since;

    boost::json::object a;
    a["prefix"] = "192.0.2.0/24";
    a["protocol"] = "vigil_web";
    a["virtual_servers"] = boost::json::array{"web", "web-tls"};
    a["state"] = "hold_down";
    a["reason"] = "hold_down";
    a["med"] = std::uint32_t{4294967295u};
    a["since"] = "2026-01-01T00:00:00Z";
    a["hold_down_left_ms"] = std::int64_t{-5};
    a["bird_state"] = "up";
    boost::json::object b = a;
    b["state"] = "announced";
    b.erase("hold_down_left_ms");
    b.erase("bird_state");
    boost::json::object expected;
    expected["bird_socket"] = "/run/bird/bird.ctl";
    expected["include_file"] = "/run/vigil-bird/vigil.conf";
    expected["liveness_interface"] = "vigil-live";
    expected["liveness_up"] = true;
    expected["bird_reachable"] = true;
    expected["bird_accepted"] = false;
    expected["last_error"] = "say \"no\"";
    expected["node_mode"] = "draining";
    expected["hold_down_ms"] = std::int64_t{30000};
    expected["announcements"] = boost::json::array{a, b};
    expected["bird_protocols"] = boost::json::array{boost::json::object{{"name", "vigil_web"},
                                                                        {"protocol", "Static"},
                                                                        {"table", "master4"},
                                                                        {"state", "up"},
                                                                        {"since", "2026-01-01"},
                                                                        {"info", "é"}}};
    expected["bird_protocols_at"] = "2026-01-01T00:00:00Z";

    std::string text;
    json_writer w(text);
    write_bgp_status(w, bgp);
    CHECK(text == boost::json::serialize(expected));

    status_snapshot snapshot;
    snapshot.daemon.version = "1.2.3";
    CHECK_FALSE(status_json(snapshot).contains("bgp"));
    snapshot.bgp = bgp;
    CHECK(status_json(snapshot).at("bgp") == expected);
}
