#include "ipvs/reconciler.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
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
    manual_clock clock;
    memory_backend kernel;
    // Jobs run inside submit(); their answers reach the reconciler when the test runs the loop.
    backend_worker worker{kernel, io.get_executor(), backend_worker::threading::inline_calls};
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
    // Runs the loop until nothing is ready: every answer posted so far reaches the reconciler.
    void settle() {
        io.restart();
        io.poll();
    }
    // Moves simulated time on by `by`, delivering answers after each timer that falls due.
    void advance(std::chrono::milliseconds by) {
        auto target = clock.now() + by;
        settle();
        for (int guard = 0; guard < 100'000; ++guard) {
            auto next = clock.next_expiry();
            if (!next || *next > target) {
                break;
            }
            clock.advance_to(std::max(*next, clock.now()));
            settle();
        }
        clock.advance_to(target);
        settle();
    }
    // Moves simulated time on in 1 ms steps until `done` holds, for at most `limit`.
    template <class Predicate>
    bool advance_until(Predicate done, std::chrono::milliseconds limit = 10'000ms) {
        settle();
        for (auto waited = 0ms; !done() && waited < limit; waited += 1ms) {
            advance(1ms);
        }
        return done();
    }
    // One full sync, run to its report.
    sync_report sync(reconciler& r, const char* reason = "manual") {
        std::optional<sync_report> report;
        r.sync_now(reason, [&](const sync_report& done) { report = done; });
        settle();
        REQUIRE(report);
        return *report;
    }
    reconciler_spec settings() const {
        reconciler_spec s;
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

virtual_server_spec web_spec(std::uint32_t weight = 1) {
    virtual_server_spec vs;
    vs.name = "web";
    vs.settings = tcp_service("192.0.2.1:80", "wrr");
    vs.real_servers = {{"web/10.0.0.2:80", ep("10.0.0.2:80"), weight, 0, 0},
                       {"web/10.0.0.3:80", ep("10.0.0.3:80"), 1, 0, 0}};
    return vs;
}

std::vector<virtual_server_spec> web_specs(std::uint32_t weight = 1) {
    return {web_spec(weight)};
}

real_server_health down() {
    return {false, {}};
}

table web_table(std::uint32_t weight = 1) {
    table t;
    put(t, tcp_service("192.0.2.1:80", "wrr"), {dest("10.0.0.2:80", weight), dest("10.0.0.3:80")});
    return t;
}

}  // namespace

TEST_CASE("a sync applies the desired table to an empty kernel and records ownership") {
    fixture f;
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    r.set_specs(web_specs());
    auto report = f.sync(r);
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
    CHECK(f.sync(r).operations == 0);
}

TEST_CASE("a failed operation is logged with errno and op, and retried at the next sync") {
    fixture f;
    f.kernel.fail_when(
        [](const operation& op) {
            return op.kind == op_kind::add_destination && op.dest.address == ep("10.0.0.3:80");
        },
        std::errc::not_enough_memory, 1);
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    r.set_specs(web_specs());
    auto first = f.sync(r);
    CHECK(first.failed == 1);
    REQUIRE(f.count("ipvs.apply_failed") == 1);
    auto line = f.first("ipvs.apply_failed");
    CHECK(line.find("\"op\":\"add_destination\"") != std::string::npos);
    CHECK(line.find("\"destination\":\"10.0.0.3:80\"") != std::string::npos);
    CHECK(line.find("\"errno\":" + std::to_string(ENOMEM)) != std::string::npos);
    CHECK(line.find("\"level\":\"error\"") != std::string::npos);

    auto second = f.sync(r, "retry");
    CHECK(second.operations == 1);  // only the failed one
    CHECK(second.failed == 0);
    CHECK(diff(web_table(), *f.kernel.dump(), {}).empty());
}

TEST_CASE("the retry timer re-runs a failed sync without any new request") {
    fixture f;
    f.kernel.fail_when([](const operation& op) { return op.kind == op_kind::add_service; },
                       std::errc::io_error, 1);
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    r.set_specs(web_specs());
    CHECK(f.advance_until([&] { return diff(web_table(), f.kernel.raw(), {}).empty(); }));
    CHECK(f.count("ipvs.apply_failed") == 3);  // the service and both destinations (ESRCH)
}

TEST_CASE("drift made by hand is repaired by the next sync, foreign services untouched") {
    fixture f;
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    r.set_specs(web_specs(4));
    f.sync(r);
    // Someone runs ipvsadm: deletes one of ours, changes a weight, adds their own service.
    auto& raw = f.kernel.raw();
    auto& ours = raw.begin()->second.destinations;
    ours.erase(ep("10.0.0.3:80"));
    ours.begin()->second.weight = 100;
    put(raw, tcp_service("198.51.100.1:443", "rr"), {dest("10.9.9.9:443")});
    auto report = f.sync(r, "resync");
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
    reconciler r(f.clock, f.worker, f.log, s);
    r.start();
    r.set_specs(web_specs());
    REQUIRE(f.advance_until([&] { return !f.kernel.raw().empty(); }));
    f.kernel.raw().clear();
    CHECK(f.advance_until([&] { return diff(web_table(), f.kernel.raw(), {}).empty(); }));
}

TEST_CASE("a burst of config changes is rate-limited into few full syncs") {
    fixture f;
    auto s = f.settings();
    s.min_sync_interval = 50ms;
    reconciler r(f.clock, f.worker, f.log, s);
    r.start();
    for (std::uint32_t w = 1; w <= 100; ++w) {
        r.set_specs(web_specs(w));
        f.advance(1ms);
    }
    CHECK(f.advance_until([&] {
        const auto& raw = f.kernel.raw();
        return !raw.empty() && raw.begin()->second.destinations.at(ep("10.0.0.2:80")).weight == 100;
    }));
    CHECK(f.kernel.dumps() <= 3);
}

TEST_CASE("nothing is synced before the first specs arrive") {
    fixture f;
    auto old = tcp_service("192.0.2.9:80");
    put(f.kernel.raw(), old);
    REQUIRE(save_owned(f.dir / "ipvs-owned", {old.key}).empty());
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    r.set_health("web/10.0.0.2:80", down());
    f.settle();
    f.advance(30ms);
    CHECK(f.kernel.dumps() == 0);
    CHECK(f.kernel.raw().size() == 1);
}

TEST_CASE("a service removed from the config while vigil was down is removed at the next start") {
    fixture f;
    {
        reconciler first(f.clock, f.worker, f.log, f.settings());
        first.start();
        auto both = web_specs();
        virtual_server_spec other;
        other.name = "other";
        other.settings = tcp_service("192.0.2.2:80");
        other.real_servers = {{"other/10.0.0.7:80", ep("10.0.0.7:80"), 1, 0, 0}};
        both.push_back(other);
        first.set_specs(both);
        f.sync(first);
        first.shutdown();  // default: leave the table in place
        f.settle();
        CHECK(f.kernel.raw().size() == 2);
    }
    put(f.kernel.raw(), tcp_service("198.51.100.1:443"));  // someone else's
    reconciler second(f.clock, f.worker, f.log, f.settings());
    second.start();
    CHECK(second.owned().size() == 2);
    second.set_specs(web_specs());
    f.sync(second);
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
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    r.set_specs({});
    CHECK(f.sync(r).failed == 1);
    CHECK(r.owned().contains(old.key));
    CHECK(f.sync(r).failed == 0);
    CHECK(f.kernel.raw().empty());
    CHECK(r.owned().empty());
}

TEST_CASE("shutdown removes only vigil's services when configured to") {
    fixture f;
    auto s = f.settings();
    s.remove_on_shutdown = true;
    put(f.kernel.raw(), tcp_service("198.51.100.1:443"));
    reconciler r(f.clock, f.worker, f.log, s);
    r.start();
    r.set_specs(web_specs());
    f.sync(r);
    r.shutdown();
    f.settle();
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
    reconciler r(f.clock, f.worker, f.log, s);
    r.start();
    r.set_specs({});
    f.sync(r);
    CHECK(f.kernel.daemons()->empty());  // VRRP not running yet
    r.set_sync_mode(sync_mode::backup);
    f.settle();
    REQUIRE(f.kernel.daemons()->size() == 1);
    CHECK(f.kernel.daemons()->front().role == sync_role::backup);
    r.set_sync_mode(sync_mode::master);
    f.settle();
    REQUIRE(f.kernel.daemons()->size() == 1);
    CHECK(f.kernel.daemons()->front().role == sync_role::master);
    CHECK(f.kernel.daemons()->front().sync_id == 51);
    // Someone stops it by hand: the next sync starts it again.
    REQUIRE_FALSE(f.kernel.stop_daemon(sync_role::master));
    f.sync(r, "resync");
    CHECK(f.kernel.daemons()->size() == 1);
    r.shutdown();
    f.settle();
    CHECK(f.kernel.daemons()->empty());
    CHECK(f.count("ipvs.sync_daemon_started") == 3);
}

TEST_CASE("a reload that drops the sync daemon stops the one vigil started") {
    fixture f;
    auto s = f.settings();
    s.sync_daemon_settings = sync_daemon{sync_role::master, "eth0", 51, 0, {}, 0, 0};
    reconciler r(f.clock, f.worker, f.log, s);
    r.start();
    r.set_specs({});
    r.set_sync_mode(sync_mode::master);
    f.settle();
    REQUIRE(f.kernel.daemons()->size() == 1);
    r.set_spec(f.settings());
    f.settle();
    CHECK(f.kernel.daemons()->empty());
    CHECK(f.count("ipvs.sync_daemon_stopped") == 1);
}

TEST_CASE("a failed dump is logged and nothing is applied") {
    fixture f;
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    r.set_specs(web_specs());
    f.kernel.fail_next_dump(std::errc::operation_not_permitted);
    auto report = f.sync(r);
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
    reconciler r(f.clock, f.worker, f.log, s);
    r.start();
    r.set_specs({});
    REQUIRE(f.advance_until([&] { return f.kernel.dumps() > 0; }));
    r.set_sync_mode(sync_mode::master);
    f.settle();
    CHECK(f.kernel.daemons()->empty());
    CHECK(f.first("ipvs.sync_daemon_failed").find("\"errno\":" + std::to_string(EINVAL)) !=
          std::string::npos);
    f.kernel.raw().clear();
    CHECK(f.advance_until([&] { return f.kernel.daemons()->size() == 1; }));
}

namespace {

// A reconciler that has made its startup sync of `specs`.
struct synced {
    fixture& f;
    reconciler r;
    synced(fixture& fx, std::vector<virtual_server_spec> specs,
           reconciler_spec s = reconciler_spec{})
        : f(fx), r(fx.clock, fx.worker, fx.log, s) {
        r.start();
        r.set_specs(std::move(specs));
        f.advance(0ms);
        REQUIRE(f.kernel.dumps() == 1);
    }
};

reconciler_spec quiet_settings() {
    reconciler_spec s;
    s.min_sync_interval = 5ms;
    s.resync_interval = 0ms;
    s.retry_interval = 5ms;
    return s;
}

const destination* kernel_dest(memory_backend& kernel, const char* service, const char* address) {
    auto& raw = kernel.raw();
    auto svc = raw.find(tcp_service(service).key);
    if (svc == raw.end()) {
        return nullptr;
    }
    auto d = svc->second.destinations.find(ep(address));
    return d == svc->second.destinations.end() ? nullptr : &d->second;
}

}  // namespace

TEST_CASE("one health change is exactly one operation, applied at once without a dump") {
    fixture f;
    synced s(f, web_specs(), quiet_settings());
    auto applied = f.kernel.operations_applied();
    auto calls = f.kernel.apply_calls();

    s.r.set_health("web/10.0.0.3:80", down());  // on_failure = remove
    f.settle();
    CHECK(f.kernel.dumps() == 1);
    CHECK(f.kernel.operations_applied() == applied + 1);
    CHECK(f.kernel.apply_calls() == calls + 1);
    CHECK(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.3:80") == nullptr);

    s.r.set_health("web/10.0.0.3:80", {true, 7});  // back, with a dynamic weight
    f.settle();
    CHECK(f.kernel.operations_applied() == applied + 2);
    REQUIRE(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.3:80"));
    CHECK(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.3:80")->weight == 7);

    s.r.set_health("web/10.0.0.3:80", {true, 0});  // drained: weight 0, stays
    f.settle();
    CHECK(f.kernel.operations_applied() == applied + 3);
    CHECK(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.3:80")->weight == 0);

    s.r.set_health("web/10.0.0.3:80", {true, 0});  // the same again: nothing
    f.settle();
    CHECK(f.kernel.operations_applied() == applied + 3);
    CHECK(f.kernel.dumps() == 1);
    CHECK(diff(s.r.desired(), f.kernel.raw(), {}).empty());
    CHECK(diff(s.r.view().table(), f.kernel.raw(), {}).empty());
}

TEST_CASE("on_failure = inhibit turns a down real server into one weight-0 edit") {
    fixture f;
    auto specs = web_specs(3);
    specs[0].on_failure = failure_policy::inhibit;
    synced s(f, specs, quiet_settings());
    auto applied = f.kernel.operations_applied();
    s.r.set_health("web/10.0.0.2:80", down());
    f.settle();
    CHECK(f.kernel.operations_applied() == applied + 1);
    REQUIRE(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.2:80"));
    CHECK(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.2:80")->weight == 0);
    CHECK(f.kernel.dumps() == 1);
}

TEST_CASE("quorum loss replaces the destinations with the sorry server, and is logged") {
    fixture f;
    auto specs = web_specs();
    specs[0].quorum = 2;
    specs[0].sorry_server = ep("10.0.0.9:80");
    synced s(f, specs, quiet_settings());
    CHECK(f.count("virtual_server.quorum_lost") == 0);

    s.r.set_health("web/10.0.0.2:80", down());  // healthy weight 1 < quorum 2
    f.settle();
    CHECK(f.kernel.dumps() == 1);
    auto& dests = f.kernel.raw().at(tcp_service("192.0.2.1:80").key).destinations;
    REQUIRE(dests.size() == 1);
    CHECK(dests.begin()->first == ep("10.0.0.9:80"));
    CHECK(dests.begin()->second.weight == 1);
    REQUIRE(f.count("virtual_server.quorum_lost") == 1);
    auto line = f.first("virtual_server.quorum_lost");
    CHECK(line.find("\"virtual_server\":\"web\"") != std::string::npos);
    CHECK(line.find("\"healthy_weight\":1") != std::string::npos);
    CHECK(line.find("\"quorum\":2") != std::string::npos);
    CHECK(line.find("\"sorry_server\":true") != std::string::npos);

    // While the sorry server stands in, other real servers' changes cost nothing.
    auto applied = f.kernel.operations_applied();
    s.r.set_health("web/10.0.0.3:80", down());
    f.settle();
    s.r.set_health("web/10.0.0.3:80", {true, {}});
    f.settle();
    CHECK(f.kernel.operations_applied() == applied);

    s.r.set_health("web/10.0.0.2:80", {true, {}});
    f.settle();
    CHECK(f.count("virtual_server.quorum_regained") == 1);
    CHECK(diff(web_table(), f.kernel.raw(), {}).empty());
    CHECK(f.kernel.dumps() == 1);
    auto status = boost::json::serialize(s.r.status_json());
    CHECK(status.find("\"quorum_up\":true") != std::string::npos);
}

TEST_CASE("an operation the kernel refuses makes the next sync a full dump and diff") {
    fixture f;
    synced s(f, web_specs(), quiet_settings());
    // Someone deleted the destination by hand: vigil's view still has it.
    f.kernel.raw().begin()->second.destinations.erase(ep("10.0.0.3:80"));
    s.r.set_health("web/10.0.0.3:80", {true, 5});  // an edit: ENOENT
    f.settle();
    REQUIRE(f.count("ipvs.apply_failed") == 1);
    CHECK(f.first("ipvs.apply_failed").find("\"errno\":" + std::to_string(ENOENT)) !=
          std::string::npos);
    CHECK(f.kernel.dumps() == 1);
    f.advance(5ms);  // the rate limit after the startup sync
    CHECK(f.kernel.dumps() == 2);
    REQUIRE(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.3:80"));
    CHECK(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.3:80")->weight == 5);
    CHECK(diff(s.r.desired(), f.kernel.raw(), {}).empty());
}

TEST_CASE("drift made behind vigil's back is repaired by the periodic resync") {
    fixture f;
    auto settings = quiet_settings();
    settings.resync_interval = 1000ms;
    synced s(f, web_specs(), settings);
    f.kernel.raw().begin()->second.destinations.at(ep("10.0.0.2:80")).weight = 42;
    f.kernel.raw().begin()->second.destinations.erase(ep("10.0.0.3:80"));
    f.advance(999ms);
    CHECK(f.kernel.dumps() == 1);
    f.advance(1ms);
    CHECK(f.kernel.dumps() == 2);
    CHECK(diff(web_table(), f.kernel.raw(), {}).empty());
    CHECK(f.first("ipvs.synced").find("\"reason\":\"startup\"") != std::string::npos);
}

TEST_CASE("a storm of 5,000 health changes in one turn coalesces into one batch") {
    fixture f;
    virtual_server_spec big;
    big.name = "big";
    big.settings = tcp_service("192.0.2.5:80", "wrr");
    big.quorum = 0;
    for (int i = 0; i < 5000; ++i) {
        auto address =
            "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":80";
        big.real_servers.push_back({"big/" + address, *parse_endpoint(address), 1, 0, 0});
    }
    auto settings = quiet_settings();
    settings.min_sync_interval = 200ms;
    settings.incremental_burst = 8;
    synced s(f, {big}, settings);
    REQUIRE(f.kernel.raw().begin()->second.destinations.size() == 5000);
    auto calls = f.kernel.apply_calls();
    auto applied = f.kernel.operations_applied();
    for (const auto& rs : big.real_servers) {
        s.r.set_health(rs.name, down());
    }
    // The first went out at once; the rest wait for its answer, then go out together.
    CHECK(f.kernel.apply_calls() == calls + 1);
    CHECK(f.kernel.raw().begin()->second.destinations.size() == 5000 - 1);
    f.settle();
    CHECK(f.kernel.apply_calls() == calls + 2);
    CHECK(f.kernel.operations_applied() == applied + 5000);
    CHECK(f.kernel.raw().begin()->second.destinations.empty());
    CHECK(f.kernel.dumps() == 1);
}

TEST_CASE("past the burst, changes answered one by one wait for the window's end as one batch") {
    fixture f;
    virtual_server_spec big;
    big.name = "big";
    big.settings = tcp_service("192.0.2.5:80", "wrr");
    big.quorum = 0;
    for (int i = 0; i < 100; ++i) {
        auto address = "10.1.0." + std::to_string(i + 1) + ":80";
        big.real_servers.push_back({"big/" + address, *parse_endpoint(address), 1, 0, 0});
    }
    auto settings = quiet_settings();
    settings.min_sync_interval = 200ms;
    settings.incremental_burst = 8;
    synced s(f, {big}, settings);
    auto calls = f.kernel.apply_calls();
    for (const auto& rs : big.real_servers) {
        s.r.set_health(rs.name, down());
        f.settle();  // each answered before the next change arrives
    }
    // The burst went out one operation at a time; the rest waits for the window's end.
    CHECK(f.kernel.apply_calls() == calls + 8);
    CHECK(f.kernel.raw().begin()->second.destinations.size() == 100 - 8);
    f.advance(200ms);
    CHECK(f.kernel.apply_calls() == calls + 9);
    CHECK(f.kernel.raw().begin()->second.destinations.empty());
    CHECK(f.kernel.dumps() == 1);
    // A window later, single changes go out at once again.
    f.advance(200ms);
    s.r.set_health(big.real_servers[0].name, {true, {}});
    CHECK(f.kernel.apply_calls() == calls + 10);
    CHECK(f.kernel.raw().begin()->second.destinations.size() == 1);
}

TEST_CASE("a reload with unchanged specs costs no operation and keeps quorum state") {
    fixture f;
    auto specs = web_specs();
    specs[0].quorum = 2;
    specs[0].sorry_server = ep("10.0.0.9:80");
    synced s(f, specs, quiet_settings());
    s.r.set_health("web/10.0.0.2:80", down());
    f.settle();
    REQUIRE(f.count("virtual_server.quorum_lost") == 1);
    auto applied = f.kernel.operations_applied();
    auto dumps = f.kernel.dumps();

    s.r.set_specs(specs);
    f.advance(1000ms);
    CHECK(f.kernel.operations_applied() == applied);
    CHECK(f.kernel.dumps() == dumps);
    CHECK(f.count("virtual_server.quorum_lost") == 1);

    // Another virtual server joins: web keeps its lost quorum (no new event, sorry server kept).
    virtual_server_spec api;
    api.name = "api";
    api.settings = tcp_service("192.0.2.2:443");
    api.real_servers = {{"api/10.0.1.2:443", ep("10.0.1.2:443"), 1, 0, 0}};
    specs.push_back(api);
    s.r.set_specs(specs);
    f.advance(5ms);
    CHECK(f.kernel.operations_applied() == applied + 2);  // api's service and destination
    CHECK(f.count("virtual_server.quorum_lost") == 1);
    CHECK(f.kernel.raw().at(tcp_service("192.0.2.1:80").key).destinations.size() == 1);
    CHECK(s.r.owned().size() == 2);
}

TEST_CASE("health that arrives before the first sync is applied by that sync") {
    fixture f;
    reconciler r(f.clock, f.worker, f.log, quiet_settings());
    r.set_specs(web_specs());
    r.set_health("web/10.0.0.3:80", down());
    f.settle();
    CHECK(f.kernel.apply_calls() == 0);
    r.start();
    f.advance(0ms);
    CHECK(f.kernel.dumps() == 1);
    auto& dests = f.kernel.raw().begin()->second.destinations;
    CHECK(dests.size() == 1);
    CHECK(dests.contains(ep("10.0.0.2:80")));
}

TEST_CASE("status comes from the kernel view and says how old it is, without a dump") {
    fixture f;
    synced s(f, web_specs(), quiet_settings());
    f.advance(250ms);
    s.r.set_health("web/10.0.0.3:80", down());
    f.settle();
    auto status = s.r.status_json();
    CHECK(f.kernel.dumps() == 1);
    const auto& o = status.as_object();
    CHECK(o.at("backend").as_string() == "memory");
    CHECK(o.at("kernel_view_age_ms").as_double() == doctest::Approx(250.0));
    CHECK(o.at("kernel_view_operations").to_number<std::uint64_t>() ==
          4);  // the startup sync's 3, and 1
    CHECK(o.at("missing").as_array().empty());
    const auto& svc = o.at("services").as_array().at(0).as_object();
    CHECK(svc.at("virtual_server").as_string() == "web");
    CHECK(svc.at("in_sync").as_bool());
    CHECK(svc.at("destinations").as_array().size() == 1);
    CHECK(boost::json::serialize(status).find("\"healthy_weight\":1") != std::string::npos);
}

TEST_CASE("EEXIST on an incremental add is repaired by a full sync too") {
    fixture f;
    synced s(f, web_specs(), quiet_settings());
    s.r.set_health("web/10.0.0.3:80", down());
    f.settle();
    // Someone puts it back by hand with another weight; vigil's view does not know.
    f.kernel.raw().begin()->second.destinations[ep("10.0.0.3:80")] = dest("10.0.0.3:80", 9);
    s.r.set_health("web/10.0.0.3:80", {true, {}});  // an add: EEXIST
    f.settle();
    REQUIRE(f.count("ipvs.apply_failed") == 1);
    CHECK(f.first("ipvs.apply_failed").find("\"errno\":" + std::to_string(EEXIST)) !=
          std::string::npos);
    f.advance(5ms);
    CHECK(f.kernel.dumps() == 2);
    CHECK(kernel_dest(f.kernel, "192.0.2.1:80", "10.0.0.3:80")->weight == 1);
    CHECK(diff(s.r.view().table(), f.kernel.raw(), {}).empty());
}

TEST_CASE("a temporary state file a crash left behind is removed at start, the list kept") {
    fixture f;
    auto old = tcp_service("192.0.2.9:80");
    REQUIRE(save_owned(f.dir / "ipvs-owned", {old.key}).empty());
    {
        std::ofstream torn(f.dir / "ipvs-owned.tmp");
        torn << "# half a li";
    }
    reconciler r(f.clock, f.worker, f.log, f.settings());
    r.start();
    CHECK_FALSE(std::filesystem::exists(f.dir / "ipvs-owned.tmp"));
    CHECK(r.owned() == std::set<service_key>{old.key});
}

TEST_CASE("health changes that arrive while an apply is in flight go out together after it") {
    fixture f;
    synced s(f, web_specs(), quiet_settings());
    auto calls = f.kernel.apply_calls();
    s.r.set_health("web/10.0.0.2:80", down());
    CHECK(s.r.in_flight() == 1);
    // Diffed now, against a view that lacks the first answer, these could miss or repeat it.
    s.r.set_health("web/10.0.0.3:80", down());
    s.r.set_health("web/10.0.0.2:80", {true, {}});
    CHECK(f.kernel.apply_calls() == calls + 1);
    f.settle();
    CHECK(f.kernel.apply_calls() == calls + 2);
    f.settle();
    CHECK(s.r.in_flight() == 0);
    CHECK(diff(s.r.desired(), f.kernel.raw(), {}).empty());
    CHECK(diff(s.r.view().table(), f.kernel.raw(), {}).empty());
    CHECK(f.kernel.dumps() == 1);
}

TEST_CASE("a full sync asked for while an apply is in flight starts when it is answered") {
    fixture f;
    synced s(f, web_specs(), quiet_settings());
    s.r.set_health("web/10.0.0.3:80", down());
    std::optional<sync_report> report;
    s.r.sync_now("manual", [&](const sync_report& done) { report = done; });
    CHECK(f.kernel.dumps() == 1);  // not yet: the apply's answer comes first
    f.settle();
    REQUIRE(report);
    CHECK(f.kernel.dumps() == 2);
    CHECK(report->operations == 0);  // the dump already held the apply's effect
}
