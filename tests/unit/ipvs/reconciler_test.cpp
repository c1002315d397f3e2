#include "ipvs/reconciler.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "ipvs/diff.hpp"
#include "ipvs/memory_backend.hpp"
#include "ipvs/state_file.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

namespace {

struct fixture {
    boost::asio::io_context io;
    memory_backend kernel;
    memory_sink* sink = nullptr;
    event_log log;
    std::filesystem::path dir;

    fixture() : log(make_sink(sink), log_level::debug) {
        dir = std::filesystem::temp_directory_path() /
              ("vigil-ipvs-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::remove_all(dir);
    }
    ~fixture() { std::filesystem::remove_all(dir); }

    static int& counter() {
        static int n = 0;
        return n;
    }
    static std::unique_ptr<log_sink> make_sink(memory_sink*& out) {
        auto s = std::make_unique<memory_sink>();
        out = s.get();
        return s;
    }
    reconciler_settings settings() const {
        reconciler_settings s;
        s.state_file = dir / "ipvs-owned";
        s.min_sync_interval = 5ms;
        s.resync_interval = 0ms;
        s.retry_interval = 5ms;
        return s;
    }
    std::size_t count(std::string_view event) const {
        std::size_t n = 0;
        for (const auto& line : sink->lines()) {
            if (line.find("\"event\":\"" + std::string(event) + "\"") != std::string::npos) {
                ++n;
            }
        }
        return n;
    }
    std::string first(std::string_view event) const {
        for (const auto& line : sink->lines()) {
            if (line.find("\"event\":\"" + std::string(event) + "\"") != std::string::npos) {
                return line;
            }
        }
        return {};
    }
};

// Runs the event loop until `done` holds or two seconds pass, so a loaded machine slows the test
// down instead of failing it.
template <class Predicate>
bool run_until(boost::asio::io_context& io, Predicate done) {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    io.restart();
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        if (io.run_one_for(10ms) == 0 && io.stopped()) {
            io.restart();
        }
    }
    return done();
}

table web_table(std::uint32_t weight = 1) {
    table t;
    put(t, tcp_service("192.0.2.1:80", "wrr"), {dest("10.0.0.2:80", weight), dest("10.0.0.3:80")});
    return t;
}

}  // namespace

TEST_CASE("a sync applies the desired table to an empty kernel and records ownership") {
    fixture f;
    reconciler r(f.io.get_executor(), f.kernel, f.log, f.settings());
    r.start();
    r.set_desired(web_table());
    auto report = r.sync_now();
    CHECK(report.dump_ok);
    CHECK(report.operations == 3);
    CHECK(report.failed == 0);
    auto kernel = f.kernel.dump();
    CHECK(diff(web_table(), *kernel, {}).empty());
    auto owned = load_owned(f.dir / "ipvs-owned");
    REQUIRE(owned.ok());
    CHECK(owned->size() == 1);
    CHECK(f.count("ipvs.started") == 1);
    CHECK(f.first("ipvs.started").find("\"backend\":\"memory\"") != std::string::npos);
    // A second sync finds nothing to do.
    CHECK(r.sync_now().operations == 0);
}

TEST_CASE("a failed operation is logged with errno and op, and retried at the next sync") {
    fixture f;
    f.kernel.fail_when(
        [](const operation& op) {
            return op.kind == op_kind::add_destination && op.dest.address == ep("10.0.0.3:80");
        },
        std::errc::not_enough_memory, 1);
    reconciler r(f.io.get_executor(), f.kernel, f.log, f.settings());
    r.start();
    r.set_desired(web_table());
    auto first = r.sync_now();
    CHECK(first.failed == 1);
    REQUIRE(f.count("ipvs.apply_failed") == 1);
    auto line = f.first("ipvs.apply_failed");
    CHECK(line.find("\"op\":\"add_destination\"") != std::string::npos);
    CHECK(line.find("\"destination\":\"10.0.0.3:80\"") != std::string::npos);
    CHECK(line.find("\"errno\":" + std::to_string(ENOMEM)) != std::string::npos);
    CHECK(line.find("\"level\":\"error\"") != std::string::npos);

    auto second = r.sync_now("retry");
    CHECK(second.operations == 1);  // only the failed one
    CHECK(second.failed == 0);
    CHECK(diff(web_table(), *f.kernel.dump(), {}).empty());
}

TEST_CASE("the retry timer re-runs a failed sync without any new request") {
    fixture f;
    f.kernel.fail_when([](const operation& op) { return op.kind == op_kind::add_service; },
                       std::errc::io_error, 1);
    reconciler r(f.io.get_executor(), f.kernel, f.log, f.settings());
    r.start();
    r.set_desired(web_table());
    CHECK(run_until(f.io, [&] { return diff(web_table(), f.kernel.raw(), {}).empty(); }));
    CHECK(f.count("ipvs.apply_failed") == 3);  // the service and both destinations (ESRCH)
}

TEST_CASE("drift made by hand is repaired by the next sync, foreign services untouched") {
    fixture f;
    reconciler r(f.io.get_executor(), f.kernel, f.log, f.settings());
    r.start();
    r.set_desired(web_table(4));
    r.sync_now();
    // Someone runs ipvsadm: deletes one of ours, changes a weight, adds their own service.
    auto& raw = f.kernel.raw();
    auto& ours = raw.begin()->second.destinations;
    ours.erase(ep("10.0.0.3:80"));
    ours.begin()->second.weight = 100;
    put(raw, tcp_service("198.51.100.1:443", "rr"), {dest("10.9.9.9:443")});
    auto report = r.sync_now("resync");
    CHECK(report.operations == 2);
    auto kernel = *f.kernel.dump();
    CHECK(kernel.size() == 2);
    CHECK(kernel.at(tcp_service("198.51.100.1:443").key).destinations.size() == 1);
    CHECK(diff(web_table(4), kernel, {}).empty());
}

TEST_CASE("periodic resync repairs drift on its own") {
    fixture f;
    auto s = f.settings();
    s.resync_interval = 20ms;
    reconciler r(f.io.get_executor(), f.kernel, f.log, s);
    r.start();
    r.set_desired(web_table());
    REQUIRE(run_until(f.io, [&] { return !f.kernel.raw().empty(); }));
    f.kernel.raw().clear();
    CHECK(run_until(f.io, [&] { return diff(web_table(), f.kernel.raw(), {}).empty(); }));
}

TEST_CASE("a burst of changes is rate-limited into few syncs") {
    fixture f;
    auto s = f.settings();
    s.min_sync_interval = 50ms;
    reconciler r(f.io.get_executor(), f.kernel, f.log, s);
    r.start();
    for (std::uint32_t w = 1; w <= 100; ++w) {
        r.set_desired(web_table(w));
        f.io.poll();
    }
    CHECK(run_until(f.io, [&] {
        const auto& raw = f.kernel.raw();
        return !raw.empty() && raw.begin()->second.destinations.at(ep("10.0.0.2:80")).weight == 100;
    }));
    CHECK(f.kernel.dumps() <= 3);
    CHECK(f.kernel.dump()->begin()->second.destinations.at(ep("10.0.0.2:80")).weight == 100);
}

TEST_CASE("nothing is synced before the first desired table arrives") {
    fixture f;
    auto old = tcp_service("192.0.2.9:80");
    put(f.kernel.raw(), old);
    REQUIRE(save_owned(f.dir / "ipvs-owned", {old.key}).empty());
    reconciler r(f.io.get_executor(), f.kernel, f.log, f.settings());
    r.start();
    f.io.run_for(30ms);
    CHECK(f.kernel.dumps() == 0);
    CHECK(f.kernel.raw().size() == 1);
}

TEST_CASE("a service removed from the config while vigil was down is removed at the next start") {
    fixture f;
    {
        reconciler first(f.io.get_executor(), f.kernel, f.log, f.settings());
        first.start();
        auto both = web_table();
        put(both, tcp_service("192.0.2.2:80"), {dest("10.0.0.7:80")});
        first.set_desired(both);
        first.sync_now();
        first.shutdown();  // default: leave the table in place
        CHECK(f.kernel.raw().size() == 2);
    }
    put(f.kernel.raw(), tcp_service("198.51.100.1:443"));  // someone else's
    reconciler second(f.io.get_executor(), f.kernel, f.log, f.settings());
    second.start();
    CHECK(second.owned().size() == 2);
    second.set_desired(web_table());
    second.sync_now();
    auto kernel = *f.kernel.dump();
    CHECK(kernel.size() == 2);
    CHECK_FALSE(kernel.contains(tcp_service("192.0.2.2:80").key));
    CHECK(kernel.contains(tcp_service("198.51.100.1:443").key));
    CHECK(second.owned().size() == 1);
    CHECK(load_owned(f.dir / "ipvs-owned")->size() == 1);
}

TEST_CASE("a failed delete keeps the service owned so it is deleted later") {
    fixture f;
    auto old = tcp_service("192.0.2.9:80");
    put(f.kernel.raw(), old);
    REQUIRE(save_owned(f.dir / "ipvs-owned", {old.key}).empty());
    f.kernel.fail_when([](const operation& op) { return op.kind == op_kind::delete_service; },
                       std::errc::device_or_resource_busy, 1);
    reconciler r(f.io.get_executor(), f.kernel, f.log, f.settings());
    r.start();
    r.set_desired({});
    CHECK(r.sync_now().failed == 1);
    CHECK(r.owned().contains(old.key));
    CHECK(r.sync_now().failed == 0);
    CHECK(f.kernel.raw().empty());
    CHECK(r.owned().empty());
}

TEST_CASE("shutdown removes only vigil's services when configured to") {
    fixture f;
    auto s = f.settings();
    s.remove_on_shutdown = true;
    put(f.kernel.raw(), tcp_service("198.51.100.1:443"));
    reconciler r(f.io.get_executor(), f.kernel, f.log, s);
    r.start();
    r.set_desired(web_table());
    r.sync_now();
    r.shutdown();
    auto kernel = *f.kernel.dump();
    CHECK(kernel.size() == 1);
    CHECK(kernel.contains(tcp_service("198.51.100.1:443").key));
    CHECK(load_owned(f.dir / "ipvs-owned")->empty());
    CHECK(f.first("ipvs.stopped").find("\"services_removed\":1") != std::string::npos);
}

TEST_CASE("the sync daemon follows the VRRP role and stops on shutdown") {
    fixture f;
    auto s = f.settings();
    s.sync_daemon_settings = sync_daemon{sync_role::master, "eth0", 51, 0, {}, 0, 0};
    reconciler r(f.io.get_executor(), f.kernel, f.log, s);
    r.start();
    r.set_desired({});
    r.sync_now();
    CHECK(f.kernel.daemons()->empty());  // VRRP not running yet
    r.set_sync_mode(sync_mode::backup);
    REQUIRE(f.kernel.daemons()->size() == 1);
    CHECK(f.kernel.daemons()->front().role == sync_role::backup);
    r.set_sync_mode(sync_mode::master);
    REQUIRE(f.kernel.daemons()->size() == 1);
    CHECK(f.kernel.daemons()->front().role == sync_role::master);
    CHECK(f.kernel.daemons()->front().sync_id == 51);
    // Someone stops it by hand: the next sync starts it again.
    REQUIRE_FALSE(f.kernel.stop_daemon(sync_role::master));
    r.sync_now("resync");
    CHECK(f.kernel.daemons()->size() == 1);
    r.shutdown();
    CHECK(f.kernel.daemons()->empty());
    CHECK(f.count("ipvs.sync_daemon_started") == 3);
}

TEST_CASE("a reload that drops the sync daemon stops the one vigil started") {
    fixture f;
    auto s = f.settings();
    s.sync_daemon_settings = sync_daemon{sync_role::master, "eth0", 51, 0, {}, 0, 0};
    reconciler r(f.io.get_executor(), f.kernel, f.log, s);
    r.start();
    r.set_desired({});
    r.set_sync_mode(sync_mode::master);
    REQUIRE(f.kernel.daemons()->size() == 1);
    r.set_settings(f.settings());
    CHECK(f.kernel.daemons()->empty());
    CHECK(f.count("ipvs.sync_daemon_stopped") == 1);
}

TEST_CASE("a failed dump is logged and nothing is applied") {
    fixture f;
    reconciler r(f.io.get_executor(), f.kernel, f.log, f.settings());
    r.start();
    r.set_desired(web_table());
    f.kernel.fail_next_dump(std::errc::operation_not_permitted);
    auto report = r.sync_now();
    CHECK_FALSE(report.dump_ok);
    CHECK(f.kernel.raw().empty());
    CHECK(f.count("ipvs.dump_failed") == 1);
}

TEST_CASE("quorum events are logged under their documented names") {
    fixture f;
    std::vector<quorum_event> events{{"web", false, 2, 4, 1, true}, {"web", true, 5, 4, 1, false}};
    log_quorum_events(f.log, events);
    CHECK(f.first("virtual_server.quorum_lost").find("\"level\":\"warning\"") != std::string::npos);
    CHECK(f.first("virtual_server.quorum_lost").find("\"healthy_weight\":2") != std::string::npos);
    CHECK(f.count("virtual_server.quorum_regained") == 1);
}

TEST_CASE("a sync daemon the kernel refuses on a transition is logged and retried") {
    fixture f;
    auto s = f.settings();
    s.sync_daemon_settings = sync_daemon{sync_role::master, "eth0", 51, 0, {}, 0, 0};
    // A mixed-family destination (someone else's) makes the kernel refuse any sync daemon.
    put(f.kernel.raw(), tcp_service("198.51.100.1:443"),
        {dest("[2001:db8::9]:443", 1, forward_method::tunnel)});
    reconciler r(f.io.get_executor(), f.kernel, f.log, s);
    r.start();
    r.set_desired({});
    REQUIRE(run_until(f.io, [&] { return f.kernel.dumps() > 0; }));
    r.set_sync_mode(sync_mode::master);
    CHECK(f.kernel.daemons()->empty());
    CHECK(f.first("ipvs.sync_daemon_failed").find("\"errno\":" + std::to_string(EINVAL)) !=
          std::string::npos);
    f.kernel.raw().clear();
    CHECK(run_until(f.io, [&] { return f.kernel.daemons()->size() == 1; }));
}
