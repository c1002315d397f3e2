#include "metrics/scrape.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include <set>
#include <sstream>

#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "ipvs/memory_backend.hpp"

using namespace vigil;
using namespace vigil::metrics;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        if (l == line) {
            return true;
        }
    }
    return false;
}

checkers::real_server_status checked(std::string name, bool up, std::chrono::milliseconds latency) {
    checkers::real_server_status s;
    s.name = std::move(name);
    s.virtual_server = "web";
    s.state = up ? checkers::health::up : checkers::health::down;
    auto& c = s.checks.emplace_back();
    c.name = "http";
    c.type = checkers::check_type::http;
    c.state = s.state;
    c.checked = true;
    c.last = up ? checkers::probe_result::ok() : checkers::probe_result::fail("timeout");
    c.last.latency = latency;
    c.counts.add(c.last);
    return s;
}

ipvs::virtual_server_spec web_spec() {
    ipvs::virtual_server_spec vs;
    vs.name = "web";
    auto address = *parse_endpoint("192.0.2.1:80");
    vs.settings = ipvs::make_service(ipvs::service_key::for_address(ipvs::protocol::tcp, address),
                                     ipvs::service_options{});
    vs.real_servers = {{"web/10.0.0.2:80", *parse_endpoint("10.0.0.2:80"), 3, 0, 0},
                       {"web/10.0.0.3:80", *parse_endpoint("10.0.0.3:80"), 1, 0, 0}};
    return vs;
}

}  // namespace

TEST_CASE("the daemon's facts: build info, reloads by result, last reload time") {
    scrape_inputs in;
    in.daemon.version = "1.2.3";
    in.daemon.reloads_applied = 2;
    in.daemon.reloads_rejected = 1;
    in.daemon.config_loaded_at = std::chrono::system_clock::time_point(1700000000s);
    exposition out;
    write_scrape(out, in);
    const auto& text = out.text();
    CHECK(has_line(text, "# TYPE vigil_build_info gauge"));
    CHECK(has_line(text, "vigil_build_info{version=\"1.2.3\"} 1"));
    CHECK(has_line(text, "vigil_config_reloads_total{result=\"applied\"} 2"));
    CHECK(has_line(text, "vigil_config_reloads_total{result=\"rejected\"} 1"));
    CHECK(has_line(text, "vigil_config_last_reload_timestamp_seconds 1700000000"));
}

TEST_CASE("a VRRP instance has one state series per state, only its own state at 1") {
    scrape_inputs in;
    vrrp::instance_status r;
    r.name = "VI_1";
    r.current = vrrp::state::master;
    r.priority = 140;
    r.configured_priority = 150;
    r.adverts_sent = 7;
    r.dropped["bad_ttl"] = 4;
    in.vrrp.push_back(r);
    exposition out;
    write_scrape(out, in);
    const auto& text = out.text();
    CHECK(has_line(text, "vigil_vrrp_state{vrrp_instance=\"VI_1\",state=\"MASTER\"} 1"));
    CHECK(has_line(text, "vigil_vrrp_state{vrrp_instance=\"VI_1\",state=\"BACKUP\"} 0"));
    CHECK(has_line(text, "vigil_vrrp_state{vrrp_instance=\"VI_1\",state=\"FAULT\"} 0"));
    CHECK(has_line(text, "vigil_vrrp_priority{vrrp_instance=\"VI_1\"} 140"));
    CHECK(has_line(text, "vigil_vrrp_configured_priority{vrrp_instance=\"VI_1\"} 150"));
    CHECK(has_line(text, "vigil_vrrp_adverts_sent_total{vrrp_instance=\"VI_1\"} 7"));
    CHECK(has_line(
        text, "vigil_vrrp_dropped_packets_total{vrrp_instance=\"VI_1\",reason=\"bad_ttl\"} 4"));
}

TEST_CASE("a checked real server reports health, drain, results and a latency histogram") {
    scrape_inputs in;
    in.real_servers.push_back(checked("web/10.0.0.2:80", true, 30ms));
    in.real_servers.push_back(checked("web/10.0.0.3:80", false, 3000ms));
    in.drained = {"web/10.0.0.3:80"};
    exposition out;
    write_scrape(out, in);
    const auto& text = out.text();
    std::string a = "virtual_server=\"web\",real_server=\"web/10.0.0.2:80\"";
    std::string b = "virtual_server=\"web\",real_server=\"web/10.0.0.3:80\"";
    CHECK(has_line(text, "vigil_real_server_up{" + a + "} 1"));
    CHECK(has_line(text, "vigil_real_server_up{" + b + "} 0"));
    CHECK(has_line(text, "vigil_real_server_drained{" + a + "} 0"));
    CHECK(has_line(text, "vigil_real_server_drained{" + b + "} 1"));
    // The check-level series name the check.
    a += ",check=\"http\"";
    b += ",check=\"http\"";
    CHECK(has_line(text, "vigil_real_server_check_up{" + a + "} 1"));
    CHECK(has_line(text, "vigil_real_server_check_up{" + b + "} 0"));
    CHECK(has_line(text, "vigil_real_server_check_latency_seconds{" + a + "} 0.03"));
    CHECK(has_line(text, "vigil_real_server_checks_total{" + a + ",result=\"success\"} 1"));
    CHECK(has_line(text, "vigil_real_server_checks_total{" + b + ",result=\"failure\"} 1"));
    CHECK(has_line(text, "# TYPE vigil_real_server_check_duration_seconds histogram"));
    CHECK(has_line(text,
                   "vigil_real_server_check_duration_seconds_bucket{" + a + ",le=\"0.025\"} 0"));
    CHECK(
        has_line(text, "vigil_real_server_check_duration_seconds_bucket{" + a + ",le=\"0.05\"} 1"));
    CHECK(
        has_line(text, "vigil_real_server_check_duration_seconds_bucket{" + a + ",le=\"+Inf\"} 1"));
    CHECK(
        has_line(text, "vigil_real_server_check_duration_seconds_bucket{" + b + ",le=\"2.5\"} 0"));
    CHECK(has_line(text, "vigil_real_server_check_duration_seconds_bucket{" + b + ",le=\"5\"} 1"));
    CHECK(has_line(text, "vigil_real_server_check_duration_seconds_sum{" + b + "} 3"));
    CHECK(has_line(text, "vigil_real_server_check_duration_seconds_count{" + b + "} 1"));
}

TEST_CASE("every family's samples follow its HELP and TYPE lines, each family once") {
    scrape_inputs in;
    in.real_servers.push_back(checked("web/10.0.0.2:80", true, 1ms));
    in.real_servers.push_back(checked("web/10.0.0.3:80", true, 1ms));
    in.checker = checkers::health_monitor::counters{};
    exposition out;
    write_scrape(out, in);
    std::istringstream lines(out.text());
    std::set<std::string> seen;
    std::string current;
    for (std::string l; std::getline(lines, l);) {
        if (l.rfind("# TYPE ", 0) == 0) {
            auto name = l.substr(7, l.find(' ', 7) - 7);
            CHECK(seen.insert(name).second);
            current = name;
        } else if (l[0] != '#') {
            CHECK(l.rfind(current, 0) == 0);
        }
    }
    CHECK(seen.contains("vigil_checker_probes_running"));
}

TEST_CASE("weights, quorum and kernel counters come from the reconciler's view") {
    manual_clock clock;
    ipvs::memory_backend kernel;
    boost::asio::io_context io;
    // Calls run inline; the loop delivers their answers to the reconciler.
    ipvs::backend_worker worker(kernel, io.get_executor(),
                                ipvs::backend_worker::threading::inline_calls);
    event_log log(std::make_unique<memory_sink>());
    ipvs::reconciler r(clock, worker, log, ipvs::reconciler_spec{});
    r.set_specs({web_spec()});
    r.start();
    r.set_health("web/10.0.0.3:80", {false, {}});
    r.sync_now("startup");
    io.poll();
    scrape_inputs in;
    in.ipvs = ipvs_facts::of(r);
    exposition out;
    write_scrape(out, in);
    const auto& text = out.text();
    std::string a = "virtual_server=\"web\",real_server=\"web/10.0.0.2:80\"";
    std::string b = "virtual_server=\"web\",real_server=\"web/10.0.0.3:80\"";
    CHECK(has_line(text, "vigil_real_server_weight{" + a + "} 3"));
    CHECK(has_line(text, "vigil_real_server_desired_weight{" + a + "} 3"));
    CHECK(has_line(text, "vigil_real_server_applied_weight{" + a + "} 3"));
    CHECK(has_line(text, "vigil_real_server_weight{" + b + "} 1"));
    CHECK(text.find("vigil_real_server_applied_weight{" + b + "}") == std::string::npos);
    CHECK(has_line(text, "vigil_virtual_server_quorum_up{virtual_server=\"web\"} 1"));
    CHECK(has_line(text, "vigil_virtual_server_healthy_weight{virtual_server=\"web\"} 3"));
    CHECK(has_line(text, "vigil_virtual_server_in_sync{virtual_server=\"web\"} 1"));
    CHECK(has_line(text, "vigil_virtual_server_active_connections{virtual_server=\"web\"} 0"));
    CHECK(has_line(text, "vigil_virtual_server_in_bytes_total{virtual_server=\"web\"} 0"));
    CHECK(has_line(text, "vigil_ipvs_in_sync 1"));
    CHECK(has_line(text, "vigil_ipvs_syncs_total{reason=\"startup\"} 1"));
    CHECK(has_line(text, "vigil_ipvs_operations_total 2"));
    CHECK(has_line(text, "vigil_ipvs_operations_failed_total 0"));
}

TEST_CASE("each BGP prefix has a vigil_bgp_announced gauge from the copied announcements") {
    scrape_inputs in;
    in.daemon.version = "1.2.3";
    {
        exposition out;
        write_scrape(out, in);
        CHECK(out.text().find("vigil_bgp_announced") == std::string::npos);
    }
    in.bgp = true;
    in.bgp_prefixes = {{"192.0.2.0/24", true}, {"2001:db8::/48", false}};
    exposition out;
    write_scrape(out, in);
    const auto& text = out.text();
    CHECK(has_line(text, "# TYPE vigil_bgp_announced gauge"));
    CHECK(has_line(text, "vigil_bgp_announced{prefix=\"192.0.2.0/24\"} 1"));
    CHECK(has_line(text, "vigil_bgp_announced{prefix=\"2001:db8::/48\"} 0"));
}
