#include "import/keepalived_translator.hpp"

#include <doctest/doctest.h>

#include <toml++/toml.h>

#include "memory_include_resolver.hpp"

using namespace vigil::import;
using vigil::import::test::memory_include_resolver;

namespace {

struct imported {
    translation result;
    toml::table main;
    std::map<std::string, toml::table> servers;  // by conf.d file name
    std::vector<std::string> warnings;

    bool warned(std::string_view part) const {
        return std::any_of(warnings.begin(), warnings.end(),
                           [&](const auto& w) { return w.find(part) != std::string::npos; });
    }
};

imported import_text(std::string_view text) {
    memory_include_resolver none;
    auto parsed = parse_keepalived(text, "k.conf", none);
    REQUIRE_FALSE(parsed.error);
    translate_options options;
    options.source = "k.conf";
    options.find_program = [](std::string_view program) -> std::optional<std::string> {
        if (program == "killall") {
            return "/usr/bin/killall";
        }
        return std::nullopt;
    };
    imported out{translate_keepalived(parsed.statements, options), {}, {}, {}};
    REQUIRE(!out.result.files.empty());
    CHECK(out.result.files[0].path == "vigil.toml");
    out.main = toml::parse(out.result.files[0].text);
    for (std::size_t i = 1; i < out.result.files.size(); ++i) {
        out.servers[out.result.files[i].path] = toml::parse(out.result.files[i].text);
    }
    for (const auto& w : out.result.warnings) {
        out.warnings.push_back(to_string(w));
    }
    return out;
}

std::vector<std::string> strings(const toml::node_view<toml::node>& node) {
    std::vector<std::string> out;
    if (const auto* array = node.as_array()) {
        for (const auto& item : *array) {
            out.push_back(item.value_or(std::string()));
        }
    }
    return out;
}

}  // namespace

TEST_CASE("a VRRP instance, field by field") {
    auto r = import_text(R"(
global_defs {
   router_id lb1
   vrrp_version 2
}
vrrp_script chk_haproxy {
    script "killall -0 haproxy"
    interval 2
    timeout 1
    weight -20
    rise 2
    fall 3
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    nopreempt
    authentication {
        auth_type PASS
        auth_pass 123456789
    }
    virtual_ipaddress {
        192.168.200.16/24 dev eth0
        192.168.200.17 label eth0:1
        192.168.200.18 dev eth1
    }
    unicast_src_ip 10.0.0.1
    unicast_peer {
        10.0.0.2
    }
    track_interface {
        eth1
        eth2 weight -10
    }
    track_script {
        chk_haproxy
    }
    notify_master "/usr/local/bin/vrrp.sh MASTER VI_1"
    notify "/usr/local/bin/notify.sh"
    use_vmac vrrp51
    garp_master_delay 10
    garp_master_repeat 3
    garp_master_refresh 60
    lvs_sync_daemon_interface eth1
}
)");
    CHECK(r.main["global"]["node"].value_or(std::string()) == "lb1");
    CHECK_FALSE(r.main["global"]["include"]);
    auto vi = r.main["vrrp_instance"][0];
    CHECK(vi["name"].value_or(std::string()) == "VI_1");
    CHECK(vi["interface"].value_or(std::string()) == "eth0");
    CHECK(vi["virtual_router_id"].value_or(0) == 51);
    CHECK(vi["priority"].value_or(0) == 150);
    CHECK(vi["version"].value_or(0) == 2);
    CHECK(vi["advert_interval"].value_or(std::string()) == "1s");
    CHECK(vi["preempt"].value_or(true) == false);
    CHECK(vi["auth_pass"].value_or(std::string()) == "12345678");
    CHECK(strings(vi["virtual_ipaddress"]) ==
          std::vector<std::string>{"192.168.200.16/24", "192.168.200.17/32"});
    CHECK(vi["unicast_source"].value_or(std::string()) == "10.0.0.1");
    CHECK(strings(vi["unicast_peers"]) == std::vector<std::string>{"10.0.0.2"});
    CHECK(vi["track_interface"][0].value_or(std::string()) == "eth1");
    CHECK(vi["track_interface"][1]["name"].value_or(std::string()) == "eth2");
    CHECK(vi["track_interface"][1]["weight"].value_or(0) == -10);
    auto script = vi["track_script"][0];
    CHECK(script["name"].value_or(std::string()) == "chk_haproxy");
    CHECK(strings(script["command"]) ==
          std::vector<std::string>{"/usr/bin/killall", "-0", "haproxy"});
    CHECK(script["interval"].value_or(std::string()) == "2s");
    CHECK(script["timeout"].value_or(std::string()) == "1s");
    CHECK(script["weight"].value_or(0) == -20);
    CHECK(script["rise"].value_or(0) == 2);
    CHECK(script["fall"].value_or(0) == 3);
    CHECK(strings(vi["notify_master"]) ==
          std::vector<std::string>{"/usr/local/bin/vrrp.sh", "MASTER", "VI_1"});
    CHECK(strings(vi["notify"]) == std::vector<std::string>{"/usr/local/bin/notify.sh"});
    CHECK(vi["use_vmac"].value_or(false) == true);
    CHECK(vi["vmac_name"].value_or(std::string()) == "vrrp51");
    CHECK(vi["garp_master_delay"].value_or(std::string()) == "10s");
    CHECK(vi["garp_master_repeat"].value_or(0) == 3);
    CHECK(vi["garp_master_refresh"].value_or(std::string()) == "60s");
    CHECK(vi["sync_daemon"]["interface"].value_or(std::string()) == "eth1");
    // What was lost is said, where it was.
    CHECK(r.warned("k.conf:27: warning: virtual_ipaddress 192.168.200.17: label eth0:1"));
    CHECK(r.warned("k.conf:28: warning: virtual_ipaddress 192.168.200.18 is on eth1"));
    // What changed meaning is said in the file.
    CHECK(r.result.files[0].text.find("# keepalived had state MASTER") != std::string::npos);
    CHECK(r.result.files[0].text.find("first 8 characters of auth_pass") != std::string::npos);
}

TEST_CASE("vrrp_version 3 from global_defs, IPv6, preempt_delay, and a sync group") {
    auto r = import_text(R"(
global_defs { vrrp_version 3 }
vrrp_sync_group G1 {
  group {
    VI_6
    VI_7
  }
  notify_master "/bin/true"
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 6
    advert_int 0.5
    preempt_delay 30
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        fd00::6/64
    }
}
vrrp_instance VI_7 {
    interface eth1
    virtual_router_id 7
    virtual_ipaddress { 10.7.0.1/24 }
}
)");
    auto vi = r.main["vrrp_instance"][0];
    CHECK(vi["version"].value_or(0) == 3);
    CHECK(vi["advert_interval"].value_or(std::string()) == "500ms");
    CHECK(vi["preempt_delay"].value_or(std::string()) == "30s");
    CHECK_FALSE(vi["auth_pass"]);
    CHECK(r.warned("VRRPv3 has none"));
    CHECK(strings(vi["virtual_ipaddress"]) == std::vector<std::string>{"fd00::6/64"});
    auto group = r.main["vrrp_sync_group"][0];
    CHECK(group["name"].value_or(std::string()) == "G1");
    CHECK(strings(group["instances"]) == std::vector<std::string>{"VI_6", "VI_7"});
    CHECK(r.warned("k.conf:8: warning: 'notify_master' is not translated"));
}

TEST_CASE("an instance vigil cannot run is skipped with a warning, and so is its group") {
    auto r = import_text(R"(
vrrp_instance A { interface eth0
  virtual_router_id 1
}
vrrp_instance B {
  virtual_router_id 2
  virtual_ipaddress { 10.0.0.2 }
}
vrrp_sync_group G { group { A B } }
)");
    CHECK_FALSE(r.main["vrrp_instance"]);
    CHECK(r.warned("vrrp_instance A has no virtual_ipaddress"));
    CHECK(r.warned("vrrp_instance B has no interface"));
    CHECK(r.warned("vrrp_sync_group G has fewer than two translated instances"));
    CHECK(r.result.empty());
}

TEST_CASE("a virtual server with HTTP_GET checks, field by field") {
    auto r = import_text(R"(
virtual_server 192.168.200.100 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    persistence_timeout 50
    persistence_granularity 255.255.255.0
    protocol TCP
    quorum 2
    hysteresis 1
    sorry_server 192.168.200.200 8080
    inhibit_on_failure
    virtualhost www.example.com
    real_server 192.168.201.100 80 {
        weight 3
        uthreshold 100
        HTTP_GET {
            url {
              path /health
              digest 9B3A0C85A887A256D6939DA88AABD8CD
              status_code 200 300-399
            }
            url {
              path /second
            }
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 2
        }
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.201.101 81 {
        weight 1
        HTTP_GET {
            url { path health }
            connect_port 8080
            connect_timeout 10
            retry 0
        }
    }
}
)");
    REQUIRE(r.servers.size() == 1);
    auto& file = r.servers.begin()->second;
    CHECK(r.servers.begin()->first == "conf.d/192.168.200.100-80.toml");
    CHECK(r.main["global"]["include"][0].value_or(std::string()) == "conf.d/*.toml");
    auto vs = file["virtual_server"];
    CHECK(vs["address"].value_or(std::string()) == "192.168.200.100:80");
    CHECK(vs["protocol"].value_or(std::string()) == "tcp");
    CHECK(vs["scheduler"].value_or(std::string()) == "wrr");
    CHECK(vs["forwarding"].value_or(std::string()) == "dr");
    CHECK(vs["persistence_timeout"].value_or(std::string()) == "50s");
    CHECK(vs["persistence_netmask"].value_or(std::string()) == "255.255.255.0");
    CHECK(vs["quorum"].value_or(0) == 2);
    CHECK(vs["hysteresis"].value_or(0) == 1);
    CHECK(vs["sorry_server"].value_or(std::string()) == "192.168.200.200:8080");
    CHECK(vs["on_failure"].value_or(std::string()) == "inhibit");
    CHECK_FALSE(vs["check"]);
    auto first = vs["real_server"][0];
    CHECK(first["address"].value_or(std::string()) == "192.168.201.100:80");
    CHECK(first["weight"].value_or(0) == 3);
    CHECK(first["upper_threshold"].value_or(0) == 100);
    // Two checkers: both, as a list (the server is up while both pass).
    CHECK_FALSE(first["check"]);
    auto check = first["checks"][0];
    CHECK(check["type"].value_or(std::string()) == "http");
    CHECK_FALSE(check["name"]);  // one check of each type: named by their types
    CHECK(first["checks"][1]["type"].value_or(std::string()) == "tcp");
    CHECK(first["checks"][1]["timeout"].value_or(std::string()) == "1s");
    CHECK_FALSE(first["checks"][2]);
    CHECK(check["interval"].value_or(std::string()) == "6s");
    CHECK(check["timeout"].value_or(std::string()) == "3s");
    CHECK(check["rise"].value_or(0) == 1);
    CHECK(check["fall"].value_or(0) == 4);
    CHECK(check["recheck_interval"].value_or(std::string()) == "2s");
    // Two url blocks: one check fetches both, the virtual server's virtualhost for each.
    CHECK_FALSE(check["path"]);
    CHECK(check["host"].value_or(std::string()) == "www.example.com");
    auto urls = check["urls"];
    REQUIRE(urls.as_array());
    CHECK(urls.as_array()->size() == 2);
    CHECK(urls[0]["path"].value_or(std::string()) == "/health");
    CHECK(urls[0]["body_digest"].value_or(std::string()) == "md5:9b3a0c85a887a256d6939da88aabd8cd");
    CHECK(urls[0]["status"][0].value_or(0) == 200);
    CHECK(urls[0]["status"][1].value_or(std::string()) == "300-399");
    CHECK(urls[1]["path"].value_or(std::string()) == "/second");
    CHECK_FALSE(urls[1]["status"]);
    CHECK_FALSE(r.warned("url"));
    CHECK_FALSE(r.warned("TCP_CHECK is not translated"));
    // DR keeps the service's port; keepalived's 81 is said in a comment.
    auto second = vs["real_server"][1];
    CHECK(second["address"].value_or(std::string()) == "192.168.201.101:80");
    CHECK(second["check"]["connect"].value_or(std::string()) == "192.168.201.101:8080");
    CHECK(second["check"]["timeout"].value_or(std::string()) == "6s");
    CHECK(second["check"]["fall"].value_or(0) == 1);
    CHECK(second["check"]["path"].value_or(std::string()) == "/health");
    CHECK(r.warned("timeout 10s is longer than delay_loop 6s"));
    const auto& text = r.result.files[1].text;
    CHECK(text.find("# keepalived retry 3, delay_before_retry 2s: down after 4 failed probes") !=
          std::string::npos);
    CHECK(text.find("# keepalived had port 81") != std::string::npos);
}

TEST_CASE("SSL_GET, MISC_CHECK and a shared check hoisted to the virtual server") {
    auto r = import_text(R"(
virtual_server 10.10.10.2 443 {
    delay_loop 10
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 192.168.200.6 443 { SSL_GET { url { path / } } }
    real_server 192.168.200.7 443 { SSL_GET { url { path / } } }
}
virtual_server 10.10.10.3 53 {
    protocol UDP
    ops
    real_server 192.168.200.8 53 {
        MISC_CHECK {
            misc_path "/usr/local/bin/dns_check.sh 192.168.200.8 'a b'"
            misc_timeout 5
            misc_dynamic
        }
    }
}
)");
    REQUIRE(r.servers.size() == 2);
    auto https = r.servers["conf.d/10.10.10.2-443.toml"]["virtual_server"];
    CHECK(https["check"]["type"].value_or(std::string()) == "https");
    CHECK(https["check"]["tls_verify"].value_or(true) == false);
    CHECK(https["check"]["interval"].value_or(std::string()) == "10s");
    CHECK(https["check"]["timeout"].value_or(std::string()) == "5s");
    CHECK(https["check"]["recheck_interval"].value_or(std::string()) == "3s");
    CHECK(https["check"]["fall"].value_or(0) == 2);
    CHECK_FALSE(https["real_server"][0]["check"]);
    auto dns = r.servers["conf.d/10.10.10.3-53-udp.toml"]["virtual_server"];
    CHECK(dns["protocol"].value_or(std::string()) == "udp");
    CHECK(dns["one_packet"].value_or(false) == true);
    auto misc = dns["check"];  // one real server: its check reads as the virtual server's
    CHECK(misc["type"].value_or(std::string()) == "script");
    CHECK(strings(misc["command"]) ==
          std::vector<std::string>{"/usr/local/bin/dns_check.sh", "192.168.200.8", "a b"});
    CHECK(misc["timeout"].value_or(std::string()) == "5s");
    CHECK(misc["interval"].value_or(std::string()) == "60s");
    CHECK(misc["fall"].value_or(0) == 1);
    CHECK(misc["dynamic_weight"].value_or(false) == true);
    CHECK(r.warnings.empty());
}

TEST_CASE("several checkers of a real server become a checks list, named where types repeat") {
    auto r = import_text(R"(
virtual_server 10.10.10.4 443 {
    lvs_sched rr
    protocol TCP
    real_server 192.168.200.9 443 {
        SSL_GET { url { path /health } }
        SSL_GET { url { path /db } }
        TCP_CHECK { connect_port 8443 }
    }
    real_server 192.168.200.10 443 {
        SSL_GET { url { path /health } }
        SSL_GET { url { path /db } }
        TCP_CHECK { connect_port 8443 }
    }
}
)");
    REQUIRE(r.servers.size() == 1);
    const auto& text = r.result.files.at(1).text;
    auto vs = r.servers.begin()->second["virtual_server"];
    // connect differs per server: each keeps its own list.
    CHECK_FALSE(vs["checks"]);
    auto checks = vs["real_server"][1]["checks"];
    CHECK(checks[0]["name"].value_or(std::string()) == "https-1");
    CHECK(checks[0]["path"].value_or(std::string()) == "/health");
    CHECK(checks[1]["name"].value_or(std::string()) == "https-2");
    CHECK(checks[1]["path"].value_or(std::string()) == "/db");
    CHECK_FALSE(checks[2]["name"]);
    CHECK(checks[2]["connect"].value_or(std::string()) == "192.168.200.10:8443");
    CHECK_FALSE(checks[3]);
    // The checkers' notes (keepalived does not verify TLS) stay, as comments inside the list.
    CHECK(text.find("\n# ") != std::string::npos);
    CHECK(text.find("checks = [\n") != std::string::npos);
}

TEST_CASE("fwmark services, groups, unknown blocks and unsupported checks") {
    auto r = import_text(R"(
virtual_server fwmark 1 {
  protocol TCP
  real_server 192.168.201.100 80 { PING_CHECK { } }
  real_server 192.168.201.101 { weight 1 }
}
virtual_server group web {
  real_server 10.0.0.1 80 { }
}
some_future_block {
  virtual_server 10.9.9.9 80 {
    real_server 10.9.9.10 80 { }
  }
}
)");
    REQUIRE(r.servers.size() == 1);
    auto vs = r.servers["conf.d/fwmark-1.toml"]["virtual_server"];
    CHECK(vs["fwmark"].value_or(0) == 1);
    CHECK_FALSE(vs["protocol"]);
    REQUIRE(vs["real_server"].as_array()->size() == 1);
    CHECK(r.warned("PING_CHECK is not translated"));
    CHECK(r.warned("real_server 192.168.201.101 has no port"));
    CHECK(r.warned("virtual_server group web: no virtual_server_group of that name: skipped"));
    CHECK(
        r.warned("k.conf:10: warning: 'some_future_block' block is not translated: unknown "
                 "block, skipped whole"));
    CHECK(r.result.files[1].text.find("not checked (always up)") != std::string::npos);
}

TEST_CASE("a repeated keyword takes the last value, as in keepalived, and the TOML stays valid") {
    auto r = import_text(R"(
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    priority 100
    priority 120
    virtual_ipaddress { 10.0.0.1 }
}
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 { weight 1
        weight 5 }
}
)");
    CHECK(r.main["vrrp_instance"][0]["priority"].value_or(0) == 120);
    auto vs = r.servers["conf.d/10.0.0.1-80.toml"]["virtual_server"];
    CHECK(vs["address"].value_or(std::string()) == "10.0.0.1:80");
    CHECK(vs["real_server"][0]["weight"].value_or(0) == 5);
}

TEST_CASE("a sync group listing its members without a group block, as old configs do") {
    auto r = import_text(R"(
vrrp_sync_group VG1 {
  VI_2
  VI_3
}
vrrp_instance VI_2 { interface eth0
  virtual_router_id 2
  virtual_ipaddress { 10.0.0.2 } }
vrrp_instance VI_3 { interface eth1
  virtual_router_id 3
  virtual_ipaddress { 10.0.1.3 } }
)");
    CHECK(strings(r.main["vrrp_sync_group"][0]["instances"]) ==
          std::vector<std::string>{"VI_2", "VI_3"});
    CHECK(r.warnings.empty());
}

TEST_CASE("a virtual_server group becomes one virtual server per member, ranges expanded") {
    auto r = import_text(R"(
virtual_server_group VSG_1 {
    10.0.0.1 8080
    192.168.200.3-5 80
    10.1.0.0/31 443
    fwmark 7 inet6
    10.0.0.9
    2001:db8::1-9 80
}
virtual_server group VSG_1 {
    lb_algo rr
    bogus_keyword 1
    real_server 192.168.201.1 80 { weight 2 }
}
)");
    std::vector<std::string> names;
    for (const auto& [name, table] : r.servers) {
        names.push_back(name);
    }
    CHECK(names ==
          std::vector<std::string>{"conf.d/10.0.0.1-8080.toml", "conf.d/10.1.0.0-443.toml",
                                   "conf.d/10.1.0.1-443.toml", "conf.d/192.168.200.3-80.toml",
                                   "conf.d/192.168.200.4-80.toml", "conf.d/192.168.200.5-80.toml",
                                   "conf.d/fwmark-7.toml"});
    auto vs = r.servers["conf.d/192.168.200.4-80.toml"]["virtual_server"];
    CHECK(vs["address"].value_or(std::string()) == "192.168.200.4:80");
    CHECK(vs["scheduler"].value_or(std::string()) == "rr");
    CHECK(vs["real_server"][0]["weight"].value_or(0) == 2);
    // The fwmark member is IPv6 by the group's word, so the IPv4 real server cannot join it.
    auto mark = r.servers["conf.d/fwmark-7.toml"]["virtual_server"];
    CHECK(mark["family"].value_or(std::string()) == "ipv6");
    // The body's warning once, not once per member.
    CHECK(std::count_if(r.warnings.begin(), r.warnings.end(), [](const auto& w) {
              return w.find("'bogus_keyword' is not translated") != std::string::npos;
          }) == 1);
    CHECK(r.warned("real_server 192.168.201.1:80 is not in the virtual server's address family"));
    CHECK(r.warned("member 10.0.0.9 has no port"));
    CHECK(r.warned("'2001:db8::1-9' is not an address or an IPv4 range"));
}

TEST_CASE("vrrp_track_file and track_file") {
    auto r = import_text(R"(
vrrp_track_file drain {
    file /var/run/vrrp/drain
    weight -10
    init_file 0
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress { 10.0.0.1 }
    track_file {
        drain
        drain weight 5
        missing
    }
}
)");
    auto files = r.main["vrrp_instance"][0]["track_file"];
    CHECK(files[0]["path"].value_or(std::string()) == "/var/run/vrrp/drain");
    CHECK(files[0]["weight"].value_or(0) == -10);
    CHECK(files[1]["weight"].value_or(0) == 5);
    CHECK(r.warned("'init_file' is not translated: vigil counts a missing file as 0"));
    CHECK(r.warned("track_file missing: no vrrp_track_file of that name"));
}

TEST_CASE("numbers are written as TOML reads them, whatever keepalived accepted") {
    auto r = import_text(R"(
virtual_server fwmark 007 {
    persistence_granularity 024
    real_server 10.0.0.1 80 {
        HTTP_GET {
            url {
                path /
                status_code 000 0200 200 300-399 2-x
            }
        }
    }
}
)");
    auto vs = r.servers["conf.d/fwmark-7.toml"]["virtual_server"];
    CHECK(vs["fwmark"].value_or(0) == 7);
    CHECK(vs["persistence_netmask"].value_or(0) == 24);
    auto status = vs["check"]["status"];
    REQUIRE(status.as_array());
    CHECK(status.as_array()->size() == 2);
    CHECK(status[0].value_or(0) == 200);
    CHECK(status[1].value_or(std::string()) == "300-399");
    CHECK(r.warned("status_code '000' is not a code"));
    CHECK(r.warned("status_code '2-x' is not a code"));
}

TEST_CASE("regex_no_match, http_protocol and bindto translate to their vigil keys") {
    auto r = import_text(R"(
virtual_server 192.0.2.100 80 {
    real_server 192.0.2.1 80 {
        HTTP_GET {
            http_protocol 1.0C
            bindto 192.0.2.250
            url {
                path /health
                regex "maintenance|draining"
                regex_no_match
            }
        }
    }
    real_server 192.0.2.2 80 {
        SSL_GET {
            http_protocol 1.1
            url {
                path /a
                virtualhost a.example
                regex ^ok
            }
            url {
                path /b
                status_code 204
                regex down
                regex_no_match
            }
        }
    }
    real_server 192.0.2.3 80 {
        TCP_CHECK {
            bindto 192.0.2.251
        }
    }
    real_server 192.0.2.4 80 {
        HTTP_GET {
            bindto 2001:db8::1
            http_protocol 2
            bind_to 192.0.2.9
            url {
                path /
                regex_no_match
            }
        }
    }
}
)");
    auto servers = r.servers["conf.d/192.0.2.100-80.toml"]["virtual_server"]["real_server"];
    auto first = servers[0]["check"];
    CHECK(first["path"].value_or(std::string()) == "/health");
    CHECK(first["body_regex_absent"].value_or(std::string()) == "maintenance|draining");
    CHECK_FALSE(first["body_regex"]);
    CHECK(first["http_version"].value_or(std::string()) == "1.0");
    CHECK(first["bind"].value_or(std::string()) == "192.0.2.250");
    auto second = servers[1]["check"];
    CHECK(second["type"].value_or(std::string()) == "https");
    CHECK(second["http_version"].value_or(std::string()) == "1.1");
    CHECK(second["urls"][0]["path"].value_or(std::string()) == "/a");
    CHECK(second["urls"][0]["host"].value_or(std::string()) == "a.example");
    CHECK(second["urls"][0]["body_regex"].value_or(std::string()) == "^ok");
    CHECK(second["urls"][1]["path"].value_or(std::string()) == "/b");
    CHECK(second["urls"][1]["status"][0].value_or(0) == 204);
    CHECK(second["urls"][1]["body_regex_absent"].value_or(std::string()) == "down");
    CHECK_FALSE(second["urls"][1]["host"]);
    auto third = servers[2]["check"];
    CHECK(third["type"].value_or(std::string()) == "tcp");
    CHECK(third["bind"].value_or(std::string()) == "192.0.2.251");
    auto fourth = servers[3]["check"];
    CHECK_FALSE(fourth["bind"]);
    CHECK_FALSE(fourth["http_version"]);
    CHECK_FALSE(fourth["body_regex_absent"]);
    CHECK(r.warned("bindto 2001:db8::1 is not of the family of 192.0.2.4: not translated"));
    CHECK(r.warned("http_protocol '2' is not 1.0, 1.0C or 1.1"));
    CHECK(r.warned("regex_no_match without a regex: ignored"));
    CHECK_FALSE(r.warned("'http_protocol' is not translated"));
    // keepalived itself knows no "bind_to": what it ignores is not made a bind.
    CHECK(r.warned("'bind_to' is not translated"));
}
