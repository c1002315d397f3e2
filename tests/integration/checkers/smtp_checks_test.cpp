// Integration tests of the smtp check type: OpenSMTPD (Debian's opensmtpd) on a loopback port of
// its own as the real server, aiosmtpd (starttls_mta.py) as the real server with STARTTLS and a
// certificate from a CA the test makes with openssl, and mail_servers.py for servers that
// misbehave. OpenSMTPD drops privileges itself, so its cases need root; not root, they skip(),
// and the run reports itself skipped to ctest.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "base/random_source.hpp"
#include "checkers/health_monitor.hpp"
#include "checkers/smtp_probe.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::checkers;
using namespace vigil::test;
using namespace std::chrono_literals;

namespace {

std::optional<probe_result> smtp_check(const ip_endpoint& target, const smtp_spec& spec,
                                       std::chrono::milliseconds limit = 3s) {
    tls_client_contexts contexts;
    return run_probe(
        [&](auto ex) { return std::make_unique<smtp_probe>(ex, target, spec, contexts); }, limit);
}

std::optional<probe_result> smtp_check(const ip_endpoint& target, std::string helo = "lb1.test",
                                       std::chrono::milliseconds limit = 3s) {
    smtp_spec spec;
    spec.helo_name = std::move(helo);
    return smtp_check(target, spec, limit);
}

smtp_spec starttls(std::optional<std::string> ca_file, std::optional<std::string> sni = {}) {
    smtp_spec spec;
    spec.helo_name = "lb1.test";
    spec.starttls = true;
    spec.ca_file = std::move(ca_file);
    spec.sni = std::move(sni);
    return spec;
}

void run_command(const std::string& command) {
    INFO(command);
    REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

// Two CAs made with openssl for this run: `ca` signed the server's certificate (for mx.test,
// 127.0.0.1 and ::1), `stranger` signed nothing the server has.
struct test_pki {
    std::filesystem::path dir;
    std::string ca, stranger, cert, key;

    test_pki() {
        REQUIRE_MESSAGE(::access("/usr/bin/openssl", X_OK) == 0,
                        "openssl is not installed (scripts/install-deps.sh installs it)");
        char pattern[] = "/tmp/vigil-pki-XXXXXX";
        REQUIRE(mkdtemp(pattern));
        dir = pattern;
        auto at = [&](const char* name) { return (dir / name).string(); };
        ca = at("ca.pem");
        stranger = at("stranger.pem");
        cert = at("mx.pem");
        key = at("mx.key");
        const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        for (const auto& [name, subject] :
             {std::pair{std::string("ca"), "vigil test CA"}, {"stranger", "a stranger CA"}}) {
            run_command("openssl req -x509" + ec + " -days 2 -subj '/CN=" + subject + "' -keyout " +
                        at((name + ".key").c_str()) + " -out " + at((name + ".pem").c_str()));
        }
        run_command("openssl req" + ec + " -subj /CN=mx.test -keyout " + key + " -out " +
                    at("mx.csr"));
        std::ofstream(dir / "san.cnf") << "subjectAltName=DNS:mx.test,IP:127.0.0.1,IP:::1\n";
        run_command("openssl x509 -req -days 2 -in " + at("mx.csr") + " -CA " + ca + " -CAkey " +
                    at("ca.key") + " -CAcreateserial -extfile " + at("san.cnf") + " -out " + cert);
        ::chmod(key.c_str(), 0600);
    }
    ~test_pki() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
};

test_pki& pki() {
    static test_pki instance;
    return instance;
}

// aiosmtpd with STARTTLS and pki()'s certificate, on 127.0.0.1 and ::1.
struct starttls_mta {
    child process;
    std::map<std::string, std::uint16_t> ports;
    starttls_mta() {
        auto line = process.start(
            {"/usr/bin/python3",
             std::string(VIGIL_SOURCE_DIR) + "/tests/integration/checkers/starttls_mta.py",
             pki().cert, pki().key},
            true);
        REQUIRE_MESSAGE(!line.empty(),
                        "starttls_mta.py did not start (scripts/install-deps.sh installs "
                        "python3-aiosmtpd)");
        ports = read_ports(line);
    }
};

starttls_mta& tls_mta() {
    static starttls_mta instance;
    return instance;
}

// OpenSMTPD listening on 127.0.0.1 and ::1 at a port of its own, refusing every message (the
// check never sends one); its config and queue stay in a temporary folder.
struct opensmtpd {
    child process;
    std::uint16_t port = unused_tcp_port();
    std::filesystem::path dir;

    // `listen_options`: e.g. "tls pki mx.test" (with `pki` lines for it).
    explicit opensmtpd(const std::string& listen_options = "", const std::string& pki_lines = "") {
        REQUIRE_MESSAGE(::access("/usr/sbin/smtpd", X_OK) == 0,
                        "OpenSMTPD is not installed (scripts/install-deps.sh installs it)");
        char pattern[] = "/tmp/vigil-smtpd-XXXXXX";
        REQUIRE(mkdtemp(pattern));
        dir = pattern;
        std::ofstream(dir / "smtpd.conf")
            << pki_lines << "listen on 127.0.0.1 port " << port << " " << listen_options << "\n"
            << "listen on ::1 port " << port << " " << listen_options << "\n"
            << "action \"refuse\" relay host smtp://127.0.0.1:1\n"
            << "match from any for any reject\n";
        start();
    }
    void start() {
        // -d: in the foreground, logging to stderr; it drops its privileges itself.
        process.start({"/usr/sbin/smtpd", "-d", "-f", (dir / "smtpd.conf").string()}, false, true);
        for (int i = 0; i < 200; ++i) {
            auto r = smtp_check(loopback_endpoint(port), "ready.test", 500ms);
            if (r && r->success) {
                return;
            }
            usleep(25000);
        }
        FAIL("OpenSMTPD did not answer on port " << port);
    }
    void stop() { process.stop(); }
    ~opensmtpd() {
        process.stop();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
};

struct mail_servers {
    child process;
    std::map<std::string, std::uint16_t> ports;
    mail_servers() {
        auto line = process.start(
            {"/usr/bin/python3",
             std::string(VIGIL_SOURCE_DIR) + "/tests/integration/checkers/mail_servers.py",
             pki().cert, pki().key},
            true);
        REQUIRE_MESSAGE(!line.empty(), "mail_servers.py did not start");
        ports = read_ports(line);
    }
};

mail_servers& hostile() {
    static mail_servers instance;
    return instance;
}

}  // namespace

TEST_CASE("smtp: OpenSMTPD greets, takes EHLO and QUIT: healthy, over IPv4 and IPv6") {
    if (geteuid() != 0) {
        skip("OpenSMTPD needs root to drop its privileges");
        return;
    }
    opensmtpd mta;
    for (const char* address : {"127.0.0.1", "::1"}) {
        auto r = smtp_check(loopback_endpoint(mta.port, address));
        REQUIRE(r);
        CHECK_MESSAGE(r->success, address << ": " << r->reason);
    }
    // A stopped MTA refuses the connection.
    mta.stop();
    auto r = smtp_check(loopback_endpoint(mta.port));
    REQUIRE(r);
    CHECK(r->reason == "connection refused");
}

TEST_CASE("smtp: the engine takes a stopped OpenSMTPD down and brings it back up") {
    if (geteuid() != 0) {
        skip("OpenSMTPD needs root to drop its privileges");
        return;
    }
    opensmtpd mta;
    boost::asio::io_context io;
    event_log log(std::make_unique<memory_sink>());
    random_source random{7};
    steady_clock_source clock{io.get_executor()};
    health_monitor monitor(io.get_executor(), log, random, clock, [](const health_change&) {});
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = "mail";
    s.endpoint = loopback_endpoint(mta.port);
    s.name = "mail/" + to_string(s.endpoint);
    s.checks.front().type = check_type::smtp;
    s.checks.front().interval = 200ms;
    s.checks.front().recheck_interval = 100ms;
    s.checks.front().timeout = 150ms;
    s.checks.front().fall = 2;
    s.checks.front().rise = 2;
    s.checks.front().smtp.helo_name = "lb1.test";
    monitor.update({s});
    auto wait_for = [&](health want) {
        auto end = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < end &&
               !(monitor.status(s.name)->deciding().checked &&
                 monitor.status(s.name)->state == want &&
                 monitor.status(s.name)->deciding().last.success == (want == health::up))) {
            io.run_for(10ms);
        }
        return monitor.status(s.name)->state;
    };
    CHECK(wait_for(health::up) == health::up);
    mta.stop();
    CHECK(wait_for(health::down) == health::down);
    CHECK(monitor.status(s.name)->deciding().last.reason == "connection refused");
    mta.start();
    CHECK(wait_for(health::up) == health::up);
}

TEST_CASE("smtp: a 554 greeting or a refused EHLO fails with the server's answer") {
    auto r = smtp_check(loopback_endpoint(hostile().ports["refuse"]));
    REQUIRE(r);
    CHECK(r->reason == "SMTP greeting 554, expected 220: 5.3.2 no service here");
    r = smtp_check(loopback_endpoint(hostile().ports["ehlo_550"]));
    REQUIRE(r);
    CHECK(r->reason == "SMTP EHLO answered 550, expected 250: 5.7.1 not you");
}

TEST_CASE("smtp: a server that knows only HELO passes") {
    auto r = smtp_check(loopback_endpoint(hostile().ports["helo_only"]));
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
}

TEST_CASE("smtp: a line or reply that never ends fails at the bound, not at the timeout") {
    auto started = std::chrono::steady_clock::now();
    auto r = smtp_check(loopback_endpoint(hostile().ports["huge"]));
    REQUIRE(r);
    CHECK(r->reason == "SMTP reply line longer than 1024 bytes");
    r = smtp_check(loopback_endpoint(hostile().ports["endless"]));
    REQUIRE(r);
    CHECK(r->reason == "SMTP reply longer than 128 lines");
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("smtp: a greeting dripped a byte at a time is still waiting when the timeout comes") {
    auto r = smtp_check(loopback_endpoint(hostile().ports["drip"]), "lb1.test", 600ms);
    CHECK_FALSE(r);  // the engine's timeout decides
}

TEST_CASE("smtp STARTTLS: a certificate the CA file vouches for is healthy, over IPv4 and IPv6") {
    // No sni: the address is verified (the certificate names 127.0.0.1 and ::1).
    for (auto [family, address] : {std::pair{"v4", "127.0.0.1"}, {"v6", "::1"}}) {
        auto r =
            smtp_check(loopback_endpoint(tls_mta().ports[family], address), starttls(pki().ca));
        REQUIRE(r);
        CHECK_MESSAGE(r->success, address << ": " << r->reason);
    }
    // With sni, the name is sent and verified instead.
    auto r = smtp_check(loopback_endpoint(tls_mta().ports["v4"]), starttls(pki().ca, "mx.test"));
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
}

TEST_CASE("smtp STARTTLS: an unknown CA or a wrong name is down, and the reason says why") {
    auto target = loopback_endpoint(tls_mta().ports["v4"]);
    auto r = smtp_check(target, starttls(pki().stranger));
    REQUIRE(r);
    CHECK_FALSE(r->success);
    CHECK(r->reason == "TLS verification failed: unable to get local issuer certificate");
    // The system's CAs do not know the test's CA either.
    r = smtp_check(target, starttls(std::nullopt));
    REQUIRE(r);
    CHECK(r->reason == "TLS verification failed: unable to get local issuer certificate");
    r = smtp_check(target, starttls(pki().ca, "other.test"));
    REQUIRE(r);
    CHECK(r->reason == "TLS verification failed: hostname mismatch");
}

TEST_CASE("smtp STARTTLS: tls_verify = false accepts a certificate no CA vouches for") {
    auto spec = starttls(std::nullopt, "other.test");
    spec.tls_verify = false;
    auto r = smtp_check(loopback_endpoint(tls_mta().ports["v4"]), spec);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
}

TEST_CASE("smtp STARTTLS: a server that does not offer it is down, even one that works") {
    auto r = smtp_check(loopback_endpoint(hostile().ports["helo_only"]), starttls(pki().ca));
    REQUIRE(r);
    CHECK(r->reason ==
          "SMTP STARTTLS not offered: EHLO answered 502 (a HELO-only server): command not "
          "implemented");
    r = smtp_check(loopback_endpoint(hostile().ports["starttls_454"]), starttls(pki().ca));
    REQUIRE(r);
    CHECK(r->reason ==
          "SMTP STARTTLS answered 454, expected 220: 4.7.0 TLS not available due to temporary "
          "reason");
    if (geteuid() != 0) {
        skip("OpenSMTPD needs root to drop its privileges");
        return;
    }
    // OpenSMTPD without `tls` on its listener: healthy in plaintext, down with STARTTLS.
    opensmtpd mta;
    r = smtp_check(loopback_endpoint(mta.port), starttls(pki().ca));
    REQUIRE(r);
    CHECK(r->reason == "SMTP STARTTLS not offered in the EHLO reply");
}

TEST_CASE("smtp STARTTLS: OpenSMTPD whose TLS cannot sign (Debian 12, OpenSSL 3) is down") {
    if (geteuid() != 0) {
        skip("OpenSMTPD needs root to drop its privileges");
        return;
    }
    // It offers STARTTLS and says 220, then its key engine fails the handshake (OpenSMTPD
    // issue #1171): a mail server that looks alive in plaintext and takes no TLS mail.
    opensmtpd mta("tls pki mx.test", "pki mx.test cert \"" + pki().cert + "\"\npki mx.test key \"" +
                                         pki().key + "\"\n");
    auto r = smtp_check(loopback_endpoint(mta.port), starttls(pki().ca));
    REQUIRE(r);
    CHECK_FALSE(r->success);
    CHECK_MESSAGE(r->reason.rfind("TLS handshake failed: ", 0) == 0, r->reason);
}

TEST_CASE("smtp STARTTLS: plaintext behind the 220 is never read as a reply over TLS") {
    // A fake reply sent with the 220: refused before any handshake.
    auto r = smtp_check(loopback_endpoint(hostile().ports["starttls_inject"]), starttls(pki().ca));
    REQUIRE(r);
    CHECK(r->reason ==
          "SMTP server sent plaintext after its STARTTLS 220, before the TLS handshake");
    // A fake reply sent once the handshake began: OpenSSL reads it as a TLS record, and fails.
    r = smtp_check(loopback_endpoint(hostile().ports["starttls_plaintext"]), starttls(pki().ca));
    REQUIRE(r);
    CHECK_FALSE(r->success);
    CHECK_MESSAGE(r->reason.rfind("TLS handshake failed: ", 0) == 0, r->reason);
    // Even unverified: the bytes are not TLS, whoever's certificate it would have been.
    auto unverified = starttls(std::nullopt);
    unverified.tls_verify = false;
    r = smtp_check(loopback_endpoint(hostile().ports["starttls_inject"]), unverified);
    REQUIRE(r);
    CHECK_FALSE(r->success);
    r = smtp_check(loopback_endpoint(hostile().ports["starttls_plaintext"]), unverified);
    REQUIRE(r);
    CHECK_FALSE(r->success);
}

TEST_CASE("smtp STARTTLS: a reply over TLS that never ends fails at the bound, not the timeout") {
    auto started = std::chrono::steady_clock::now();
    auto r = smtp_check(loopback_endpoint(hostile().ports["tls_endless"]), starttls(pki().ca));
    REQUIRE(r);
    CHECK(r->reason == "SMTP reply longer than 128 lines");
    r = smtp_check(loopback_endpoint(hostile().ports["tls_huge"]), starttls(pki().ca));
    REQUIRE(r);
    CHECK(r->reason == "SMTP reply line longer than 1024 bytes");
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("smtp STARTTLS: a handshake the server never answers is still waiting at the timeout") {
    auto r = smtp_check(loopback_endpoint(hostile().ports["starttls_silent"]), starttls(pki().ca),
                        600ms);
    CHECK_FALSE(r);  // the engine's timeout decides
}

TEST_CASE("smtp STARTTLS: the engine brings a verified server up and a wrongly named one down") {
    boost::asio::io_context io;
    event_log log(std::make_unique<memory_sink>());
    random_source random{11};
    steady_clock_source clock{io.get_executor()};
    health_monitor monitor(io.get_executor(), log, random, clock, [](const health_change&) {});
    auto server = [&](const char* sni) {
        checked_server_spec s;
        s.checks.emplace_back();
        s.virtual_server = std::string("mail-") + sni;
        s.endpoint = loopback_endpoint(tls_mta().ports["v4"]);
        s.name = s.virtual_server + "/" + to_string(s.endpoint);
        s.checks.front().type = check_type::smtp;
        s.checks.front().interval = 200ms;
        s.checks.front().recheck_interval = 100ms;
        s.checks.front().timeout = 150ms;
        s.checks.front().initial_state = health::down;
        s.checks.front().smtp = starttls(pki().ca, sni);
        return s;
    };
    auto good = server("mx.test");
    auto bad = server("other.test");
    bad.checks.front().initial_state = health::up;
    monitor.update({good, bad});
    auto end = std::chrono::steady_clock::now() + 5s;
    auto settled = [&] {
        return monitor.status(good.name)->state == health::up &&
               monitor.status(bad.name)->state == health::down;
    };
    while (std::chrono::steady_clock::now() < end && !settled()) {
        io.run_for(10ms);
    }
    CHECK_MESSAGE(monitor.status(good.name)->state == health::up,
                  monitor.status(good.name)->deciding().last.reason);
    CHECK(monitor.status(bad.name)->state == health::down);
    CHECK(monitor.status(bad.name)->deciding().last.reason ==
          "TLS verification failed: hostname mismatch");
}
