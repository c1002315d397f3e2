// Integration tests of the health-check engine against real servers on loopback: a Python asyncio
// server (servers.py) with well- and misbehaving HTTP and HTTPS endpoints, certificates made here
// with OpenSSL, and shell scripts. No root needed; the one part that does (running a script as
// another user) only runs as root.

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "checkers/body_digester.hpp"
#include "checkers/health_monitor.hpp"
#include "checkers/probe_once.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::checkers;
using vigil::test::has_what_it_needs;
using vigil::test::skip;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// ---- certificates -------------------------------------------------------------------------

struct key_and_cert {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
};

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    REQUIRE(ext != nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

key_and_cert make_cert(const char* common_name, const char* san, const key_and_cert* issuer,
                       long not_before_days, long not_after_days, long serial) {
    key_and_cert out;
    out.key = EVP_EC_gen("P-256");
    REQUIRE(out.key != nullptr);
    out.cert = X509_new();
    X509_set_version(out.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(out.cert), serial);
    X509_gmtime_adj(X509_getm_notBefore(out.cert), not_before_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(out.cert), not_after_days * 86400);
    X509_set_pubkey(out.cert, out.key);
    X509_NAME* name = X509_get_subject_name(out.cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509* issuer_cert = issuer != nullptr ? issuer->cert : out.cert;
    X509_set_issuer_name(out.cert, X509_get_subject_name(issuer_cert));
    if (issuer == nullptr) {
        add_ext(out.cert, out.cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(out.cert, out.cert, NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(out.cert, out.cert, NID_subject_key_identifier, "hash");
    } else {
        add_ext(out.cert, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(out.cert, issuer_cert, NID_subject_alt_name, san);
        add_ext(out.cert, issuer_cert, NID_ext_key_usage, "serverAuth");
    }
    X509_sign(out.cert, issuer != nullptr ? issuer->key : out.key, EVP_sha256());
    return out;
}

void write_pem(const fs::path& dir, const std::string& name, const key_and_cert& kc) {
    FILE* f = std::fopen((dir / (name + ".pem")).c_str(), "w");
    PEM_write_X509(f, kc.cert);
    std::fclose(f);
    f = std::fopen((dir / (name + ".key")).c_str(), "w");
    PEM_write_PrivateKey(f, kc.key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
}

void release(key_and_cert& kc) {
    X509_free(kc.cert);
    EVP_PKEY_free(kc.key);
}

void make_certificates(const fs::path& dir) {
    auto ca = make_cert("vigil test CA", nullptr, nullptr, -1, 30, 1);
    write_pem(dir, "ca", ca);
    const char* san = "DNS:www.example.test,DNS:localhost,IP:127.0.0.1";
    auto good = make_cert("www.example.test", san, &ca, -1, 30, 2);
    auto wrong_host = make_cert("other.example.test", "DNS:other.example.test", &ca, -1, 30, 3);
    auto expired = make_cert("www.example.test", san, &ca, -30, -1, 4);
    write_pem(dir, "good", good);
    write_pem(dir, "wronghost", wrong_host);
    write_pem(dir, "expired", expired);
    for (auto* kc : {&ca, &good, &wrong_host, &expired}) {
        release(*kc);
    }
}

// ---- the server process -------------------------------------------------------------------

struct test_servers {
    fs::path dir;
    vigil::test::child process;
    std::map<std::string, std::uint16_t> ports;
    std::uint16_t refused_port = 0;

    test_servers() {
        char tmpl[] = "/tmp/vigil-checkers-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        make_certificates(dir);
        auto line =
            process.start({"/usr/bin/python3",
                           std::string(VIGIL_SOURCE_DIR) + "/tests/integration/checkers/servers.py",
                           dir.string()},
                          true);
        REQUIRE_MESSAGE(!line.empty(), "servers.py did not start");
        ports = vigil::test::read_ports(line);
        // A port nobody listens on: bind one, note it, close it.
        int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
        refused_port = ntohs(a.sin_port);
        close(s);
    }
    ~test_servers() {
        process.stop();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    std::string ca() const { return (dir / "ca.pem").string(); }
};

test_servers& servers() {
    static test_servers instance;
    return instance;
}

// ---- running the engine ------------------------------------------------------------------

struct harness {
    boost::asio::io_context io;
    std::shared_ptr<memory_sink> sink_view;
    event_log log;
    random_source random{1234};
    steady_clock_source clock{io.get_executor()};
    std::vector<health_change> changes;
    health_monitor monitor;

    harness()
        : log(make_sink()),
          monitor(io.get_executor(), log, random, clock,
                  [this](const health_change& c) { changes.push_back(c); }) {}

    std::unique_ptr<log_sink> make_sink() {
        auto s = std::make_unique<forwarding_sink>();
        sink_view = s->target;
        return s;
    }

    struct forwarding_sink final : log_sink {
        std::shared_ptr<memory_sink> target = std::make_shared<memory_sink>();
        void write(const log_record& r) override { target->write(r); }
    };

    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        auto end = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > end) {
                return false;
            }
            io.run_for(5ms);
        }
        return true;
    }
    void run_for(std::chrono::milliseconds d) { io.run_for(d); }

    real_server_status state(const std::string& name) { return *monitor.status(name); }
    bool checked(const std::string& name) { return monitor.status(name)->deciding().checked; }

    std::vector<std::string> events() const { return sink_view->lines(); }
    bool logged(const std::string& needle) const {
        for (const auto& line : events()) {
            if (line.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
};

ip_endpoint loopback(std::uint16_t port, const char* address = "127.0.0.1") {
    return ip_endpoint{*parse_address(address), port};
}

checked_server_spec http_server(const std::string& vs, ip_endpoint ep, const std::string& path,
                                check_type type = check_type::http) {
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = vs;
    s.endpoint = ep;
    s.name = vs + "/" + to_string(ep);
    s.checks.front().type = type;
    s.checks.front().interval = 300ms;
    s.checks.front().recheck_interval = 100ms;
    s.checks.front().timeout = 1s;
    s.checks.front().http.path = path;
    return s;
}

// One probe of one http path: its result after the first run.
probe_result probe_path(const std::string& path, std::uint16_t port,
                        const std::function<void(checked_server_spec&)>& tune = {},
                        check_type type = check_type::http) {
    harness h;
    auto s = http_server("web", loopback(port), path, type);
    if (tune) {
        tune(s);
    }
    h.monitor.update({s});
    REQUIRE(h.run_until([&] { return h.checked(s.name); }, 5s));
    return h.state(s.name).checks.front().last;
}

}  // namespace

TEST_CASE("a healthy HTTP server passes and stays up without events") {
    auto r = probe_path("/ok", servers().ports["http"]);
    CHECK(r.success);
    CHECK(r.reason == "ok");
}

TEST_CASE("a 503 takes the server down after fall failures with the status as reason") {
    harness h;
    auto s = http_server("web", loopback(servers().ports["http"]), "/status/503");
    s.checks.front().fall = 3;
    s.checks.front().interval = 2s;  // the recheck interval must carry the pending transition
    h.monitor.update({s});
    auto started = std::chrono::steady_clock::now();
    REQUIRE(h.run_until([&] { return h.state(s.name).state == health::down; }, 8s));
    // Three failures: the first within the jittered interval, the next two 100 ms apart.
    CHECK(std::chrono::steady_clock::now() - started < 2s + 500ms);
    CHECK(h.logged("\"event\":\"real_server.down\""));
    CHECK(h.logged("\"reason\":\"status 503\""));
    CHECK(h.logged("\"virtual_server\":\"web\""));
    CHECK(h.logged("\"check\":\"http\""));
    CHECK(h.logged("\"latency_ms\":"));
    REQUIRE(h.changes.size() == 2);  // registration, then down
    CHECK(h.changes[1].state == health::down);
    CHECK(h.state(s.name).checks.front().consecutive >= 3);
}

TEST_CASE("an expected status set accepts what it lists") {
    auto r = probe_path("/status/404", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.status = status_set{{{200, 299}, {404, 404}}};
    });
    CHECK(r.success);
}

TEST_CASE("down until proven: a server starts down and comes up after rise successes") {
    harness h;
    auto s = http_server("web", loopback(servers().ports["http"]), "/ok");
    s.checks.front().initial_state = health::down;
    s.checks.front().rise = 2;
    h.monitor.update({s});
    REQUIRE(h.changes.size() == 1);
    CHECK(h.changes[0].state == health::down);
    REQUIRE(h.run_until([&] { return h.state(s.name).state == health::up; }, 5s));
    CHECK(h.logged("\"event\":\"real_server.up\""));
}

TEST_CASE("the Host header is the configured one") {
    auto r = probe_path("/host", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.host = "www.example.test";
        s.checks.front().http.body_regex = "Host: www\\.example\\.test\\n";
    });
    CHECK(r.success);
}

TEST_CASE("a body regex and a body digest judge the body") {
    CHECK(probe_path("/ok", servers().ports["http"], [](checked_server_spec& s) {
              s.checks.front().http.body_regex = "ready";
          }).success);
    auto miss = probe_path("/ok", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.body_regex = "^degraded";
    });
    CHECK(miss.reason == "body mismatch");
    CHECK(probe_path("/ok", servers().ports["http"], [](checked_server_spec& s) {
              // the real digest of "OK ready\n", as `vigil probe` prints it
              probe_once_options o;
              auto report = probe_once(
                  "http://127.0.0.1:" + std::to_string(servers().ports["http"]) + "/ok", o);
              s.checks.front().http.digest = *parse_body_digest(report.sha256);
          }).success);
    auto wrong = probe_path("/ok", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.digest = *parse_body_digest("md5:00000000000000000000000000000000");
    });
    CHECK_FALSE(wrong.success);
    CHECK(wrong.reason.starts_with("body mismatch"));
}

TEST_CASE("HEAD checks send HEAD and do not wait for the body the headers announce") {
    auto port = servers().ports["http"];
    // A 1 MiB Content-Length with no body: a client that waited for it would time out.
    auto r = probe_path("/method/head-check", port, [](checked_server_spec& s) {
        s.checks.front().http.method = http_method::head;
        s.checks.front().timeout = 2s;
    });
    CHECK(r.success);
    CHECK(r.reason == "ok");
    CHECK(r.latency < 1s);
    auto count = [&](const std::string& tag) {
        probe_once_options o;
        auto stats = probe_once("http://127.0.0.1:" + std::to_string(port) + "/stats/" + tag, o);
        REQUIRE(stats.ok);
        return stats.md5;
    };
    auto zero = to_string(digest_of(body_digest::algorithm::md5, "0"));
    CHECK(count("head-check-HEAD") != zero);
    CHECK(count("head-check-GET") == zero);
}

TEST_CASE("GET checks send GET: the same path fails when it is not asked with HEAD") {
    auto r = probe_path("/method/get-check", servers().ports["http"]);
    CHECK_FALSE(r.success);
    CHECK(r.reason == "status 503");
}

TEST_CASE("connect sends the probe to another address and port") {
    auto r = probe_path("/ok", servers().refused_port, [](checked_server_spec& s) {
        s.checks.front().connect = loopback(servers().ports["http"], "127.0.0.9");
    });
    CHECK(r.success);
}

TEST_CASE("a closed port is reported as connection refused") {
    auto r = probe_path("/ok", servers().refused_port);
    CHECK_FALSE(r.success);
    CHECK(r.reason == "connection refused");
}

TEST_CASE("a server that accepts and never answers times out") {
    auto r = probe_path("/silent", servers().ports["http"],
                        [](checked_server_spec& s) { s.checks.front().timeout = 300ms; });
    CHECK_FALSE(r.success);
    CHECK(r.reason == "timeout");
    CHECK(r.latency >= 300ms);
}

TEST_CASE("a server that resets the connection fails") {
    auto r = probe_path("/reset", servers().ports["http"]);
    CHECK_FALSE(r.success);
    CHECK(r.reason == "connection reset");
}

TEST_CASE("a server that trickles its body times out") {
    auto r = probe_path("/trickle", servers().ports["http"],
                        [](checked_server_spec& s) { s.checks.front().timeout = 500ms; });
    CHECK_FALSE(r.success);
    CHECK(r.reason == "timeout");
}

TEST_CASE("a server that answers garbage fails as an invalid response") {
    auto r = probe_path("/garbage", servers().ports["http"]);
    CHECK_FALSE(r.success);
    CHECK(r.reason.starts_with("invalid HTTP response"));
}

TEST_CASE("a 10 MB chunked body is cut at the body limit") {
    auto r = probe_path("/big", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.body_regex = "^y+";
        s.checks.front().timeout = 3s;
    });
    CHECK(r.success);
    // The probe stopped reading at 64 KiB: the server could not push the whole 10 MiB (the
    // socket buffers hold a few MB at most).
    probe_once_options o;
    o.body_limit = 64;
    auto stats =
        probe_once("http://127.0.0.1:" + std::to_string(servers().ports["http"]) + "/big", o);
    CHECK(stats.ok);
    CHECK(stats.truncated);
    CHECK(stats.body_length == 64);
}

TEST_CASE(
    "reuse_connection keeps one connection for several checks and replaces one the server "
    "closed without failing a check") {
    harness h;
    auto port = servers().ports["http"];
    auto s = http_server("web", loopback(port), "/keepalive/reuse");
    s.checks.front().http.reuse_connection = true;
    s.checks.front().interval = 100ms;
    h.monitor.update({s});
    REQUIRE(h.run_until([&] { return h.monitor.stats().runs_completed >= 7; }, 10s));
    CHECK(h.state(s.name).checks.front().last.success);
    CHECK(h.state(s.name).checks.front().consecutive == h.monitor.stats().runs_completed);
    // The server closes each connection after its third request: 7 or 8 requests (one may be in
    // flight) need 3 connections, where fresh connections would need 7 or 8.
    auto count = [&](const std::string& tag) {
        probe_once_options o;
        auto stats = probe_once("http://127.0.0.1:" + std::to_string(port) + "/stats/" + tag, o);
        REQUIRE(stats.ok);
        for (int n = 0; n < 100; ++n) {
            if (stats.md5 == to_string(digest_of(body_digest::algorithm::md5, std::to_string(n)))) {
                return n;
            }
        }
        return -1;
    };
    auto requests = count("reuse-requests");
    CHECK(requests >= 7);
    CHECK(count("reuse-connections") == (requests + 2) / 3);
}

TEST_CASE("HTTPS with the test CA verifies the certificate and SNI name") {
    auto r = probe_path(
        "/ok", servers().ports["good"],
        [](checked_server_spec& s) {
            s.checks.front().http.ca_file = servers().ca();
            s.checks.front().http.sni = "www.example.test";
        },
        check_type::https);
    CHECK(r.success);
    // By address, against the IP in the certificate.
    auto by_ip = probe_path(
        "/ok", servers().ports["good"],
        [](checked_server_spec& s) { s.checks.front().http.ca_file = servers().ca(); },
        check_type::https);
    CHECK(by_ip.success);
}

TEST_CASE("HTTPS checks resume the previous check's TLS session unless told not to") {
    auto full_and_resumed = [](const std::string& tag, bool reuse) {
        harness h;
        auto s =
            http_server("web", loopback(servers().ports["good"]), "/tls/" + tag, check_type::https);
        s.checks.front().http.ca_file = servers().ca();
        s.checks.front().http.sni = "www.example.test";
        s.checks.front().http.tls_session_reuse = reuse;
        s.checks.front().interval = 100ms;
        h.monitor.update({s});
        REQUIRE(h.run_until([&] { return h.monitor.stats().runs_completed >= 6; }, 10s));
        CHECK(h.state(s.name).checks.front().last.success);
        auto count = [&](const std::string& kind) {
            probe_once_options o;
            auto stats = probe_once("http://127.0.0.1:" + std::to_string(servers().ports["http"]) +
                                        "/stats/" + tag + "-" + kind,
                                    o);
            REQUIRE(stats.ok);
            for (int n = 0; n < 100; ++n) {
                if (stats.md5 ==
                    to_string(digest_of(body_digest::algorithm::md5, std::to_string(n)))) {
                    return n;
                }
            }
            return -1;
        };
        return std::make_pair(count("full"), count("resumed"));
    };
    // The first check shakes hands in full; every later one resumes.
    auto [full, resumed] = full_and_resumed("resume", true);
    CHECK(full == 1);
    CHECK(resumed >= 5);
    auto [fresh_full, fresh_resumed] = full_and_resumed("noresume", false);
    CHECK(fresh_full >= 6);
    CHECK(fresh_resumed == 0);
}

TEST_CASE("HTTPS fails verification without the CA unless verification is off") {
    auto r = probe_path(
        "/ok", servers().ports["good"],
        [](checked_server_spec& s) { s.checks.front().http.sni = "www.example.test"; },
        check_type::https);
    CHECK_FALSE(r.success);
    CHECK(r.reason.starts_with("TLS verification failed"));
    auto off = probe_path(
        "/ok", servers().ports["good"],
        [](checked_server_spec& s) { s.checks.front().http.tls_verify = false; },
        check_type::https);
    CHECK(off.success);
}

TEST_CASE("a certificate for another host fails verification") {
    auto r = probe_path(
        "/ok", servers().ports["wronghost"],
        [](checked_server_spec& s) {
            s.checks.front().http.ca_file = servers().ca();
            s.checks.front().http.sni = "www.example.test";
        },
        check_type::https);
    CHECK_FALSE(r.success);
    CHECK(r.reason.starts_with("TLS verification failed"));
}

TEST_CASE("an expired certificate fails verification") {
    auto r = probe_path(
        "/ok", servers().ports["expired"],
        [](checked_server_spec& s) {
            s.checks.front().http.ca_file = servers().ca();
            s.checks.front().http.sni = "www.example.test";
        },
        check_type::https);
    CHECK_FALSE(r.success);
    CHECK(r.reason.starts_with("TLS verification failed"));
    CHECK(r.reason.find("expired") != std::string::npos);
}

TEST_CASE("plain HTTP to a TLS port fails, and TLS to a plain port fails the handshake") {
    auto tls_plain = probe_path(
        "/ok", servers().ports["http"],
        [](checked_server_spec& s) {
            s.checks.front().http.tls_verify = false;
            s.checks.front().timeout = 300ms;
        },
        check_type::https);
    CHECK_FALSE(tls_plain.success);
    auto plain_tls = probe_path("/ok", servers().ports["good"],
                                [](checked_server_spec& s) { s.checks.front().timeout = 300ms; });
    CHECK_FALSE(plain_tls.success);
}

TEST_CASE("a TCP check connects, and sends and expects when told to") {
    harness h;
    auto ok = http_server("tcp", loopback(servers().ports["http"]), "/");
    ok.checks.front().type = check_type::tcp;
    auto refused = http_server("tcp", loopback(servers().refused_port), "/");
    refused.checks.front().type = check_type::tcp;
    auto expect = http_server("tcp", loopback(servers().ports["http"], "127.0.0.2"), "/");
    expect.checks.front().type = check_type::tcp;
    expect.checks.front().tcp.send = "GET /ok HTTP/1.0\r\n\r\n";
    expect.checks.front().tcp.expect = "OK ready";
    auto mismatch = http_server("tcp", loopback(servers().ports["http"], "127.0.0.3"), "/");
    mismatch.checks.front().type = check_type::tcp;
    mismatch.checks.front().tcp.send = "GET /ok HTTP/1.0\r\n\r\n";
    mismatch.checks.front().tcp.expect = "+PONG";
    auto silent = http_server("tcp", loopback(servers().ports["http"], "127.0.0.4"), "/");
    silent.checks.front().type = check_type::tcp;
    silent.checks.front().tcp.send = "GET /silent HTTP/1.0\r\n\r\n";
    silent.checks.front().tcp.expect = "HTTP";
    silent.checks.front().timeout = 300ms;
    h.monitor.update({ok, refused, expect, mismatch, silent});
    REQUIRE(h.run_until(
        [&] {
            for (const auto& st : h.monitor.status()) {
                if (!st.deciding().checked) {
                    return false;
                }
            }
            return true;
        },
        5s));
    CHECK(h.state(ok.name).checks.front().last.success);
    CHECK(h.state(refused.name).checks.front().last.reason == "connection refused");
    CHECK(h.state(expect.name).checks.front().last.success);
    CHECK(h.state(mismatch.name).checks.front().last.reason == "expect mismatch");
    CHECK(h.state(silent.name).checks.front().last.reason == "timeout");
}

TEST_CASE("one probe serves identical checks of two virtual servers") {
    harness h;
    auto port = servers().ports["http"];
    auto a = http_server("web", loopback(port, "127.0.0.77"), "/count/dedup");
    auto b = http_server("api", loopback(port, "127.0.0.77"), "/count/dedup");
    b.checks.front().rise = 3;  // counters are per real server, the probe is shared
    h.monitor.update({a, b});
    CHECK(h.monitor.stats().probes == 1);
    CHECK(h.monitor.stats().real_servers == 2);
    h.run_for(1500ms);
    auto runs = h.monitor.stats().runs_completed;
    CHECK(runs >= 4);
    CHECK(h.state(a.name).checks.front().consecutive == runs);
    CHECK(h.state(b.name).checks.front().consecutive == runs);
    // The server saw exactly one request per run, not two.
    probe_once_options o;
    auto stats = probe_once("http://127.0.0.1:" + std::to_string(port) + "/stats/dedup", o);
    REQUIRE(stats.ok);
    // The counter's body is the decimal count: compare digests.
    CHECK(stats.md5 == to_string(digest_of(body_digest::algorithm::md5, std::to_string(runs))));
}

TEST_CASE("reload keeps unchanged servers' state and replaces only what changed") {
    harness h;
    auto port = servers().ports["http"];
    auto stay = http_server("web", loopback(port, "127.0.1.1"), "/status/503");
    auto weight = http_server("web", loopback(port, "127.0.1.2"), "/ok");
    auto change = http_server("web", loopback(port, "127.0.1.3"), "/ok");
    auto gone = http_server("web", loopback(port, "127.0.1.4"), "/ok");
    h.monitor.update({stay, weight, change, gone});
    REQUIRE(h.run_until([&] { return h.state(stay.name).state == health::down; }, 5s));
    auto before = h.state(stay.name);
    auto probes_before = h.monitor.stats().probes;
    CHECK(probes_before == 4);
    h.changes.clear();
    weight.weight = 9;
    change.checks.front().http.path = "/status/503";
    h.monitor.update({stay, weight, change});
    auto after = h.state(stay.name);
    CHECK(after.state == health::down);
    CHECK(after.since == before.since);
    CHECK(after.deciding().consecutive == before.deciding().consecutive);
    CHECK_FALSE(h.monitor.status(gone.name).has_value());
    CHECK(h.monitor.stats().probes == 3);
    // The weight change is reported, nothing else.
    REQUIRE(h.changes.size() == 1);
    CHECK(h.changes[0].real_server == weight.name);
    CHECK(h.changes[0].weight == 9u);
    // The changed check starts from the state it had (up) and goes down on its new path.
    CHECK(h.state(change.name).state == health::up);
    REQUIRE(h.run_until([&] { return h.state(change.name).state == health::down; }, 5s));
}

TEST_CASE("thousands of real servers on 127.x.y.z are checked within one interval") {
    harness h;
    auto port = servers().ports["http"];
    std::vector<checked_server_spec> specs;
    for (int i = 0; i < 2000; ++i) {
        auto address = "127.2." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
        auto s = http_server("bulk", loopback(port, address.c_str()), "/ok");
        s.checks.front().interval = 1s;
        specs.push_back(s);
    }
    h.monitor.update(specs);
    CHECK(h.monitor.stats().probes == 2000);
    auto started = std::chrono::steady_clock::now();
    REQUIRE(h.run_until([&] { return h.monitor.stats().runs_completed >= 2000; }, 10s));
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    for (const auto& st : h.monitor.status()) {
        if (st.deciding().checked) {
            CHECK_MESSAGE(st.deciding().last.success, st.name << ": " << st.deciding().last.reason);
        }
    }
}

// ---- scripts ------------------------------------------------------------------------------

namespace {

std::string write_script(const std::string& name, const std::string& body) {
    auto path = servers().dir / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
}

checked_server_spec script_server(const std::string& address, std::vector<std::string> argv) {
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = "scripted";
    s.endpoint = loopback(80, address.c_str());
    s.name = "scripted/" + to_string(s.endpoint);
    s.checks.front().type = check_type::script;
    s.checks.front().interval = 300ms;
    s.checks.front().recheck_interval = 100ms;
    s.checks.front().timeout = 1s;
    s.checks.front().script.argv = std::move(argv);
    return s;
}

}  // namespace

TEST_CASE("scripts: exit 0 passes, exit 1 fails with the exit in words") {
    harness h;
    auto pass = script_server("127.0.3.1", {write_script("pass.sh", "exit 0")});
    auto fail = script_server("127.0.3.2", {write_script("fail.sh", "exit 1")});
    h.monitor.update({pass, fail});
    REQUIRE(h.run_until([&] { return h.checked(pass.name) && h.checked(fail.name); }, 5s));
    CHECK(h.state(pass.name).checks.front().last.success);
    CHECK(h.state(fail.name).state == health::down);
    CHECK(h.logged("\"reason\":\"script exit 1\""));
    CHECK(h.logged("\"check\":\"script\""));
}

TEST_CASE("scripts see which real server they check") {
    harness h;
    auto s = script_server(
        "127.0.3.9", {write_script("env.sh",
                                   "[ \"$VIGIL_REAL_SERVER_ADDRESS:$VIGIL_REAL_SERVER_PORT\" = "
                                   "127.0.3.9:80 ]")});
    h.monitor.update({s});
    REQUIRE(h.run_until([&] { return h.checked(s.name); }, 5s));
    CHECK(h.state(s.name).checks.front().last.success);
}

TEST_CASE("scripts: dynamic weight exit N gives weight N-2") {
    harness h;
    auto s = script_server("127.0.3.3", {write_script("weight.sh", "exit 7")});
    s.checks.front().script.dynamic_weight = true;
    s.weight = 100;
    h.monitor.update({s});
    REQUIRE(h.run_until([&] { return h.checked(s.name); }, 5s));
    CHECK(h.state(s.name).state == health::up);
    CHECK(h.state(s.name).weight == 5u);
    REQUIRE(h.changes.size() == 2);
    CHECK(h.changes[0].weight == 100u);
    CHECK(h.changes[1].weight == 5u);
    CHECK(h.changes[1].state == health::up);
}

TEST_CASE("scripts: a hanging script times out and never piles up") {
    harness h;
    auto s = script_server("127.0.3.4", {write_script("hang.sh", "exec sleep 30")});
    s.checks.front().timeout = 200ms;
    s.checks.front().interval = 250ms;
    h.monitor.update({s});
    h.run_for(1500ms);
    CHECK(h.state(s.name).checks.front().last.reason == "timeout");
    CHECK(h.state(s.name).state == health::down);
    auto st = h.monitor.stats();
    // One run at a time: started runs never exceed completed ones by more than the one going.
    CHECK(st.runs_started - st.runs_completed <= 1);
    CHECK(st.runs_completed >= 3);
}

TEST_CASE("scripts: a timeout kills the children a script forked") {
    harness h;
    auto pidfile = servers().dir / "child.pid";
    auto s = script_server(
        "127.0.3.5",
        {write_script("fork.sh", "sleep 30 &\necho $! > " + pidfile.string() + "\nsleep 30\n")});
    s.checks.front().timeout = 300ms;
    s.checks.front().interval = 1s;
    h.monitor.update({s});
    REQUIRE(h.run_until([&] { return h.checked(s.name); }, 8s));
    CHECK(h.state(s.name).checks.front().last.reason == "timeout");
    pid_t child = 0;
    std::ifstream(pidfile) >> child;
    REQUIRE(child > 0);
    // The process group's SIGKILL reaches the grandchild; it may take a moment to be reaped by
    // init, so wait for it to stop existing or become a zombie.
    bool gone = h.run_until(
        [&] {
            if (kill(child, 0) != 0) {
                return true;
            }
            std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
            std::string pid, comm, state;
            stat >> pid >> comm >> state;
            return state == "Z";
        },
        2s);
    CHECK(gone);
}

TEST_CASE("scripts: the configured user runs the script (root only)") {
    if (geteuid() != 0) {
        skip("running a script as another user needs root");
        return;
    }
    harness h;
    auto script = write_script("whoami.sh", "[ \"$(id -un)\" = nobody ]");
    fs::permissions(script, fs::perms::all, fs::perm_options::add);
    fs::permissions(servers().dir, fs::perms::all, fs::perm_options::add);
    auto s = script_server("127.0.3.6", {script});
    s.checks.front().script.user = look_up_user("nobody");
    h.monitor.update({s});
    REQUIRE(h.run_until([&] { return h.checked(s.name); }, 5s));
    CHECK_MESSAGE(h.state(s.name).checks.front().last.success,
                  h.state(s.name).checks.front().last.reason);
}

TEST_CASE("no more than max_running probes run at once; the rest wait instead of piling up") {
    boost::asio::io_context io;
    event_log log(std::make_unique<memory_sink>());
    random_source random(7);
    steady_clock_source clock(io.get_executor());
    health_monitor monitor(io.get_executor(), log, random, clock, {}, 2);
    std::vector<checked_server_spec> specs;
    for (int i = 1; i <= 6; ++i) {
        auto address = "127.0.4." + std::to_string(i);
        auto s = http_server("slow", loopback(servers().ports["http"], address.c_str()), "/silent");
        s.checks.front().interval = 200ms;
        s.checks.front().timeout = 150ms;
        specs.push_back(s);
    }
    monitor.update(specs);
    std::size_t most = 0;
    auto end = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < end) {
        io.run_for(5ms);
        most = std::max(most, monitor.stats().running);
    }
    CHECK(most == 2);
    CHECK(monitor.stats().runs_deferred > 0);
    // Every server still got checked (and timed out), just later.
    for (const auto& st : monitor.status()) {
        CHECK(st.deciding().checked);
        CHECK(st.deciding().last.reason == "timeout");
    }
}

// ---- body_regex_absent, http_version, bind, several URLs -----------------------------------

namespace {

// How many requests servers.py counted under `tag` (its /stats/TAG body is the number).
int server_count(const std::string& tag) {
    probe_once_options o;
    auto stats = probe_once(
        "http://127.0.0.1:" + std::to_string(servers().ports["http"]) + "/stats/" + tag, o);
    REQUIRE(stats.ok);
    for (int n = 0; n < 1000; ++n) {
        if (stats.md5 == to_string(digest_of(body_digest::algorithm::md5, std::to_string(n)))) {
            return n;
        }
    }
    return -1;
}

http_url url_of(const std::string& path) {
    http_url url;
    url.path = path;
    return url;
}

}  // namespace

TEST_CASE("body_regex_absent takes a server down when the body matches, and passes otherwise") {
    auto port = servers().ports["http"];
    auto up = probe_path("/ok", port, [](checked_server_spec& s) {
        s.checks.front().http.body_regex_absent = "maint";
    });
    CHECK(up.success);
    auto down = probe_path("/ok", port, [](checked_server_spec& s) {
        s.checks.front().http.body_regex_absent = "r[e]ady";
    });
    CHECK_FALSE(down.success);
    CHECK(down.reason == "body mismatch: body_regex_absent matches");
    // Both at once: the body ("OK ready") must match one and not the other.
    auto both = probe_path("/ok", port, [](checked_server_spec& s) {
        s.checks.front().http.body_regex = "^OK";
        s.checks.front().http.body_regex_absent = "^OK ready";
    });
    CHECK(both.reason == "body mismatch: body_regex_absent matches");
}

TEST_CASE("http_version 1.0 says HTTP/1.0 and reads a body that ends with the connection") {
    auto port = servers().ports["http"];
    // /version answers HTTP/1.0 without Content-Length, naming the version it was asked with.
    auto old = probe_path("/version", port, [](checked_server_spec& s) {
        s.checks.front().http.version = http_version::http_1_0;
        s.checks.front().http.body_regex = "^request HTTP/1\\.0\\n$";
    });
    CHECK(old.success);
    CHECK(old.reason == "ok");
    auto current = probe_path("/version", port, [](checked_server_spec& s) {
        s.checks.front().http.body_regex = "^request HTTP/1\\.1\\n$";
    });
    CHECK(current.success);
    // An HTTP/1.1 server answering a 1.0 request (Content-Length, "HTTP/1.1" status line).
    auto ok = probe_path("/status/503", port, [](checked_server_spec& s) {
        s.checks.front().http.version = http_version::http_1_0;
    });
    CHECK(ok.reason == "status 503");
    // Over TLS too.
    auto tls = probe_path(
        "/version", servers().ports["good"],
        [](checked_server_spec& s) {
            s.checks.front().http.version = http_version::http_1_0;
            s.checks.front().http.body_regex = "^request HTTP/1\\.0\\n$";
            s.checks.front().http.ca_file = servers().ca();
            s.checks.front().http.sni = "www.example.test";
        },
        check_type::https);
    CHECK(tls.success);
}

TEST_CASE("bind: the server sees the check connect from the bound address") {
    auto port = servers().ports["http"];
    auto unbound = probe_path("/peer", port, [](checked_server_spec& s) {
        s.checks.front().http.body_regex = "^peer 127\\.0\\.0\\.1$";
    });
    CHECK(unbound.success);
    auto bound = probe_path("/peer", port, [](checked_server_spec& s) {
        s.checks.front().bind = *parse_address("127.0.0.2");
        s.checks.front().http.body_regex = "^peer 127\\.0\\.0\\.2$";
    });
    CHECK(bound.success);
    CHECK(bound.reason == "ok");
    auto https = probe_path(
        "/peer", servers().ports["good"],
        [](checked_server_spec& s) {
            s.checks.front().bind = *parse_address("127.0.0.3");
            s.checks.front().http.body_regex = "^peer 127\\.0\\.0\\.3$";
            s.checks.front().http.ca_file = servers().ca();
            s.checks.front().http.sni = "www.example.test";
        },
        check_type::https);
    CHECK(https.success);
}

TEST_CASE("bind to an address this host does not have fails the check with the reason") {
    for (auto type : {check_type::http, check_type::tcp}) {
        auto r = probe_path(
            "/ok", servers().ports["http"],
            [](checked_server_spec& s) { s.checks.front().bind = *parse_address("192.0.2.77"); },
            type);
        CHECK_FALSE(r.success);
        CHECK(r.reason == "bind to 192.0.2.77 failed: address not available on this host");
    }
}

TEST_CASE("a TCP check binds too: the server sees the bound address") {
    auto r = probe_path(
        "/", servers().ports["http"],
        [](checked_server_spec& s) {
            s.checks.front().bind = *parse_address("127.0.0.4");
            s.checks.front().tcp.send = "GET /peer HTTP/1.0\r\n\r\n";
            s.checks.front().tcp.expect = "peer 127.0.0.4";
        },
        check_type::tcp);
    CHECK(r.success);
}

TEST_CASE("several URLs: every one is fetched in order, each on a fresh connection") {
    auto r = probe_path("/", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.urls = {url_of("/count/multi-a"), url_of("/count/multi-b"),
                                      url_of("/ok")};
        s.checks.front().http.urls[2].body_regex = "ready";
    });
    CHECK(r.success);
    CHECK(r.reason == "ok");
    CHECK(server_count("multi-a") >= 1);
    CHECK(server_count("multi-a") == server_count("multi-b"));
    // The latency is the whole run's: two URLs of 150 ms each take 300 ms at least.
    auto slow = probe_path("/", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.urls = {url_of("/delay/150"), url_of("/delay/150")};
    });
    CHECK(slow.success);
    CHECK(slow.latency >= 300ms);
    CHECK(slow.latency < 1s);
}

TEST_CASE("several URLs: one that fails takes the server down, named by its path") {
    harness h;
    auto s = http_server("web", loopback(servers().ports["http"]), "/");
    s.checks.front().http.urls = {url_of("/count/before-503"), url_of("/status/503"),
                                  url_of("/count/after-503")};
    h.monitor.update({s});
    REQUIRE(h.run_until([&] { return h.state(s.name).state == health::down; }, 5s));
    CHECK(h.state(s.name).deciding().last.reason == "/status/503: status 503");
    CHECK(h.logged("\"reason\":\"/status/503: status 503\""));
    // The run stops at the failing URL.
    CHECK(server_count("before-503") >= 1);
    CHECK(server_count("after-503") == 0);
    // Each URL has its own expectations: a 503 that this URL expects passes.
    auto expected = probe_path("/", servers().ports["http"], [](checked_server_spec& c) {
        c.checks.front().http.urls = {url_of("/ok"), url_of("/status/503")};
        c.checks.front().http.urls[1].status = status_set{{{503, 503}}};
    });
    CHECK(expected.success);
    // A body expectation fails by path too, and a connection failure names the URL it hit.
    auto body = probe_path("/", servers().ports["http"], [](checked_server_spec& c) {
        c.checks.front().http.urls = {url_of("/ok"), url_of("/host")};
        c.checks.front().http.urls[1].body_regex_absent = "Host";
    });
    CHECK(body.reason == "/host: body mismatch: body_regex_absent matches");
    auto reset = probe_path("/", servers().ports["http"], [](checked_server_spec& c) {
        c.checks.front().http.urls = {url_of("/ok"), url_of("/reset")};
    });
    CHECK(reset.reason.starts_with("/reset: "));
}

TEST_CASE("several URLs with their own Host headers, and the check's host as their default") {
    auto r = probe_path("/", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.host = "default.example";
        s.checks.front().http.urls = {url_of("/host"), url_of("/host")};
        s.checks.front().http.urls[0].body_regex = "^Host: default\\.example\\n$";
        s.checks.front().http.urls[1].host = "other.example";
        s.checks.front().http.urls[1].body_regex = "^Host: other\\.example\\n$";
    });
    CHECK(r.success);
}

TEST_CASE("several URLs with reuse_connection go over one kept-alive connection") {
    auto r = probe_path("/", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.reuse_connection = true;
        s.checks.front().http.urls = {url_of("/keepalive/multi-reuse"),
                                      url_of("/keepalive/multi-reuse")};
    });
    CHECK(r.success);
    CHECK(server_count("multi-reuse-connections") == 1);
    CHECK(server_count("multi-reuse-requests") == 2);
    // Without reuse each URL gets a connection of its own, kept-alive answer or not.
    auto fresh = probe_path("/", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.urls = {url_of("/keepalive/multi-fresh"),
                                      url_of("/keepalive/multi-fresh")};
    });
    CHECK(fresh.success);
    CHECK(server_count("multi-fresh-connections") == 2);
}

TEST_CASE("several URLs over HTTPS: every URL passes, the failing one is named") {
    auto tune = [](checked_server_spec& s) {
        s.checks.front().http.ca_file = servers().ca();
        s.checks.front().http.sni = "www.example.test";
    };
    auto ok = probe_path(
        "/", servers().ports["good"],
        [&](checked_server_spec& s) {
            tune(s);
            s.checks.front().http.urls = {url_of("/ok"), url_of("/tls/multi")};
        },
        check_type::https);
    CHECK(ok.success);
    auto bad = probe_path(
        "/", servers().ports["good"],
        [&](checked_server_spec& s) {
            tune(s);
            s.checks.front().http.urls = {url_of("/ok"), url_of("/status/404")};
        },
        check_type::https);
    CHECK(bad.reason == "/status/404: status 404");
}

TEST_CASE("a body without end (HTTP/1.0, no length) is cut at the body limit, not waited for") {
    auto r = probe_path("/endless", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.version = http_version::http_1_0;
        s.checks.front().http.body_regex = "^z+$";
        s.checks.front().http.body_regex_absent = "[^z]";
        s.checks.front().timeout = 2s;
    });
    CHECK(r.success);
    CHECK(r.latency < 1s);
}

TEST_CASE("several URLs: one that never answers times the whole run out") {
    auto r = probe_path("/", servers().ports["http"], [](checked_server_spec& s) {
        s.checks.front().http.urls = {url_of("/ok"), url_of("/silent"), url_of("/ok")};
        s.checks.front().timeout = 300ms;
    });
    CHECK_FALSE(r.success);
    CHECK(r.reason == "timeout");
    // The latency is the whole run's, both URLs included.
    CHECK(r.latency >= 300ms);
}
