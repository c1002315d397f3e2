// Integration tests of the smtp check type: OpenSMTPD (Debian's opensmtpd) on a loopback port of
// its own as the real server, and mail_servers.py for servers that misbehave. OpenSMTPD drops
// privileges itself, so its cases need root; not root, they skip(), and the run reports itself
// skipped to ctest.

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

std::optional<probe_result> smtp_check(const ip_endpoint& target, std::string helo = "lb1.test",
                                       std::chrono::milliseconds limit = 3s) {
    smtp_spec spec;
    spec.helo_name = std::move(helo);
    return run_probe([&](auto ex) { return std::make_unique<smtp_probe>(ex, target, spec); },
                     limit);
}

// OpenSMTPD listening on 127.0.0.1 and ::1 at a port of its own, refusing every message (the
// check never sends one); its config and queue stay in a temporary folder.
struct opensmtpd {
    child process;
    std::uint16_t port = unused_tcp_port();
    std::filesystem::path dir;

    opensmtpd() {
        REQUIRE_MESSAGE(::access("/usr/sbin/smtpd", X_OK) == 0,
                        "OpenSMTPD is not installed (scripts/install-deps.sh installs it)");
        char pattern[] = "/tmp/vigil-smtpd-XXXXXX";
        REQUIRE(mkdtemp(pattern));
        dir = pattern;
        std::ofstream(dir / "smtpd.conf") << "listen on 127.0.0.1 port " << port << "\n"
                                          << "listen on ::1 port " << port << "\n"
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
        auto line =
            process.start({"/usr/bin/python3", std::string(VIGIL_SOURCE_DIR) +
                                                   "/tests/integration/checkers/mail_servers.py"},
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
    s.virtual_server = "mail";
    s.endpoint = loopback_endpoint(mta.port);
    s.name = "mail/" + to_string(s.endpoint);
    s.check.type = check_type::smtp;
    s.check.interval = 200ms;
    s.check.recheck_interval = 100ms;
    s.check.timeout = 150ms;
    s.check.fall = 2;
    s.check.rise = 2;
    s.check.smtp.helo_name = "lb1.test";
    monitor.update({s});
    auto wait_for = [&](health want) {
        auto end = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < end &&
               !(monitor.status(s.name)->checked && monitor.status(s.name)->state == want &&
                 monitor.status(s.name)->last.success == (want == health::up))) {
            io.run_for(10ms);
        }
        return monitor.status(s.name)->state;
    };
    CHECK(wait_for(health::up) == health::up);
    mta.stop();
    CHECK(wait_for(health::down) == health::down);
    CHECK(monitor.status(s.name)->last.reason == "connection refused");
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
