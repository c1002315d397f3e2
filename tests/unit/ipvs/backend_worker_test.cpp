#include "ipvs/backend_worker.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <thread>

#include "ipvs/memory_backend.hpp"
#include "ipvs/reconciler.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

namespace {

// The memory backend with a kernel that takes its time: each dump sleeps `dump_delay` and each
// apply `apply_delay`, on whatever thread calls it; it records which thread that was.
class slow_backend final : public backend {
  public:
    std::chrono::milliseconds dump_delay{0};
    std::chrono::milliseconds apply_delay{0};
    memory_backend inner;
    std::atomic<std::thread::id> caller{};

    std::string_view name() const override { return "slow"; }
    boost::system::result<table> dump() override {
        caller = std::this_thread::get_id();
        std::this_thread::sleep_for(dump_delay);
        return inner.dump();
    }
    std::vector<std::error_code> apply(std::span<const operation> ops) override {
        caller = std::this_thread::get_id();
        std::this_thread::sleep_for(apply_delay);
        return inner.apply(ops);
    }
    boost::system::result<std::vector<sync_daemon>> daemons() override { return inner.daemons(); }
    std::error_code start_daemon(const sync_daemon& d) override { return inner.start_daemon(d); }
    std::error_code stop_daemon(sync_role role) override { return inner.stop_daemon(role); }
};

operation add(const service& svc) {
    operation op;
    op.kind = op_kind::add_service;
    op.svc = svc;
    return op;
}

// Runs `io` until `done` holds or `limit` passes.
template <class Predicate>
bool run_until(boost::asio::io_context& io, Predicate done, std::chrono::milliseconds limit = 5s) {
    auto give_up = std::chrono::steady_clock::now() + limit;
    io.restart();
    while (!done() && std::chrono::steady_clock::now() < give_up) {
        io.run_for(5ms);
        io.restart();
    }
    return done();
}

// A loop timer every `period`; `max_gap` is the longest it went without firing past its period.
struct loop_ticker {
    boost::asio::steady_timer timer;
    std::chrono::milliseconds period;
    std::chrono::steady_clock::time_point last;
    std::chrono::steady_clock::duration max_late{0};
    bool running = true;

    loop_ticker(boost::asio::io_context& io, std::chrono::milliseconds p) : timer(io), period(p) {
        last = std::chrono::steady_clock::now();
        tick();
    }
    void tick() {
        timer.expires_at(last + period);
        timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || !running) {
                return;
            }
            auto now = std::chrono::steady_clock::now();
            max_late = std::max(max_late, now - (last + period));
            last = now;
            tick();
        });
    }
};

struct logged {
    memory_sink* sink = nullptr;
    event_log log;
    logged() : log(make(sink), log_level::debug) {}
    static std::unique_ptr<log_sink> make(memory_sink*& out) {
        auto s = std::make_unique<memory_sink>();
        out = s.get();
        return s;
    }
    std::size_t count(std::string_view event) const {
        std::size_t n = 0;
        for (const auto& line : sink->lines()) {
            n += line.find("\"event\":\"" + std::string(event) + "\"") != std::string::npos;
        }
        return n;
    }
};

std::vector<virtual_server_spec> one_service(const char* address, int destinations) {
    virtual_server_spec vs;
    vs.name = "big";
    vs.settings = tcp_service(address, "wrr");
    for (int i = 0; i < destinations; ++i) {
        auto rs = "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":80";
        vs.real_servers.push_back({"big/" + rs, ep(rs.c_str()), 1, 0, 0});
    }
    return {vs};
}

}  // namespace

TEST_CASE("jobs run in the order submitted, on the worker's thread, answered on the loop") {
    boost::asio::io_context io;
    slow_backend kernel;
    backend_worker worker(kernel, io.get_executor());
    std::vector<int> answered;
    std::vector<std::thread::id> answered_on;
    // Operations submitted before a dump are answered before it, and the dump sees them.
    worker.submit([](backend& b) { return b.apply(std::vector{add(tcp_service("192.0.2.1:80"))}); },
                  [&](auto answers) {
                      REQUIRE(answers.has_value());
                      CHECK_FALSE(answers->at(0));
                      answered.push_back(1);
                      answered_on.push_back(std::this_thread::get_id());
                  });
    worker.submit([](backend& b) { return b.dump(); },
                  [&](auto dumped) {
                      REQUIRE(dumped.has_value());
                      REQUIRE(dumped->has_value());
                      CHECK((*dumped)->size() == 1);
                      answered.push_back(2);
                      answered_on.push_back(std::this_thread::get_id());
                  });
    worker.submit([](backend& b) { return b.apply(std::vector{add(tcp_service("192.0.2.1:80"))}); },
                  [&](auto answers) {
                      CHECK(answers->at(0) == std::make_error_code(std::errc::file_exists));
                      answered.push_back(3);
                      answered_on.push_back(std::this_thread::get_id());
                  });
    CHECK(worker.in_flight() == 3);
    REQUIRE(run_until(io, [&] { return answered.size() == 3; }));
    CHECK(answered == std::vector{1, 2, 3});
    CHECK(kernel.caller.load() != std::this_thread::get_id());
    for (auto id : answered_on) {
        CHECK(id == std::this_thread::get_id());
    }
    CHECK(worker.in_flight() == 0);
}

TEST_CASE("an inline worker still answers later, from the loop, never inside submit") {
    boost::asio::io_context io;
    memory_backend kernel;
    backend_worker worker(kernel, io.get_executor(), backend_worker::threading::inline_calls);
    bool answered = false;
    worker.submit([](backend& b) { return b.apply(std::vector{add(tcp_service("192.0.2.1:80"))}); },
                  [&](auto) { answered = true; });
    CHECK(kernel.operations_applied() == 1);  // the call itself ran at once
    CHECK_FALSE(answered);
    io.poll();
    CHECK(answered);
}

TEST_CASE("a job that throws is answered with what it threw, and the worker carries on") {
    boost::asio::io_context io;
    memory_backend kernel;
    backend_worker worker(kernel, io.get_executor());
    std::string thrown;
    bool next = false;
    worker.submit([](backend&) -> int { throw std::runtime_error("netlink went away"); },
                  [&](backend_worker::outcome<int> answer) {
                      REQUIRE_FALSE(answer.has_value());
                      thrown = describe(answer.error());
                  });
    worker.submit([](backend& b) { return b.dump(); },
                  [&](auto dumped) { next = dumped.has_value() && dumped->has_value(); });
    REQUIRE(run_until(io, [&] { return next; }));
    CHECK(thrown == "netlink went away");
}

TEST_CASE("a worker going away runs what was submitted but answers nothing more") {
    boost::asio::io_context io;
    slow_backend kernel;
    kernel.apply_delay = 20ms;
    bool answered = false;
    {
        backend_worker worker(kernel, io.get_executor());
        for (int i = 0; i < 3; ++i) {
            auto address = "192.0.2." + std::to_string(i + 1) + ":80";
            worker.submit(
                [address](backend& b) {
                    return b.apply(std::vector{add(tcp_service(address.c_str()))});
                },
                [&](auto) { answered = true; });
        }
    }
    CHECK(kernel.inner.raw().size() == 3);
    io.restart();
    io.poll();
    CHECK_FALSE(answered);
}

TEST_CASE("a dump that takes 300 ms does not delay a 10 ms loop timer") {
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    slow_backend kernel;
    kernel.dump_delay = 300ms;
    kernel.apply_delay = 100ms;
    backend_worker worker(kernel, io.get_executor());
    logged l;
    reconciler_spec settings;
    settings.resync_interval = 0ms;
    reconciler r(clock, worker, l.log, settings);
    r.start();
    r.set_specs(one_service("192.0.2.1:80", 100));
    loop_ticker ticker(io, 10ms);
    std::optional<sync_report> report;
    r.sync_now("manual", [&](const sync_report& done) { report = done; });
    CHECK(r.in_flight() == 1);  // sent; the loop carries on
    REQUIRE(run_until(io, [&] { return report.has_value(); }));
    ticker.running = false;
    CHECK(report->dump_ok);
    CHECK(report->operations == 101);
    CHECK(report->dump_time >= 300ms);
    // Without the worker the timer would have fired 300 ms late or more (the dump alone); a
    // shared, loaded CI host adds scheduling noise, which this bound leaves room for.
    CHECK(ticker.max_late < 150ms);
    CHECK(kernel.inner.raw().begin()->second.destinations.size() == 100);
}

TEST_CASE("status answers from the view while a slow sync is in flight") {
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    slow_backend kernel;
    backend_worker worker(kernel, io.get_executor());
    logged l;
    reconciler r(clock, worker, l.log, reconciler_spec{});
    r.start();
    r.set_specs(one_service("192.0.2.1:80", 2));
    kernel.dump_delay = 500ms;
    r.sync_now();
    auto t0 = std::chrono::steady_clock::now();
    auto status = r.status_json();
    CHECK(std::chrono::steady_clock::now() - t0 < 250ms);  // the dump alone takes 500 ms
    CHECK(status.as_object().at("kernel_view_age_ms").is_null());
    REQUIRE(run_until(io, [&] { return r.in_flight() == 0 && r.last_report(); }));
}

TEST_CASE("shutdown with a sync in flight still removes vigil's services before the loop ends") {
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    slow_backend kernel;
    kernel.dump_delay = 100ms;
    put(kernel.inner.raw(), tcp_service("198.51.100.1:443"));  // someone else's
    backend_worker worker(kernel, io.get_executor());
    logged l;
    reconciler_spec settings;
    settings.remove_on_shutdown = true;
    reconciler r(clock, worker, l.log, settings);
    r.start();
    r.set_specs(one_service("192.0.2.1:80", 10));
    std::optional<sync_report> report;
    r.sync_now("manual", [&](const sync_report& done) { report = done; });
    REQUIRE(run_until(io, [&] { return report.has_value(); }));
    // A health change and a resync are in flight when SIGTERM comes.
    r.set_health("big/10.2.0.1:80", {false, {}});
    r.sync_now("resync");
    r.shutdown();
    CHECK(r.shutting_down());
    r.set_health("big/10.2.0.2:80", {false, {}});  // after shutdown: ignored
    REQUIRE(run_until(io, [&] { return !r.shutting_down(); }));
    auto left = kernel.inner.raw();
    REQUIRE(left.size() == 1);
    CHECK(left.contains(tcp_service("198.51.100.1:443").key));
    CHECK(l.count("ipvs.stopped") == 1);
    CHECK(r.owned().empty());
}

TEST_CASE("the loop does not run out of work while a job is out on the worker") {
    boost::asio::io_context io;
    slow_backend kernel;
    kernel.dump_delay = 50ms;
    backend_worker worker(kernel, io.get_executor());
    bool answered = false;
    worker.submit([](backend& b) { return b.dump(); }, [&](auto) { answered = true; });
    io.run();  // nothing else on the loop: it returns only once the answer has run
    CHECK(answered);
}

TEST_CASE("answers that come back after the reconciler is gone are dropped") {
    boost::asio::io_context io;
    memory_backend kernel;
    backend_worker worker(kernel, io.get_executor(), backend_worker::threading::inline_calls);
    manual_clock clock;
    logged l;
    {
        reconciler r(clock, worker, l.log, reconciler_spec{});
        r.start();
        r.set_specs(one_service("192.0.2.1:80", 3));
        r.sync_now();
        CHECK(r.in_flight() == 1);
    }
    io.poll();  // the dump's answer finds no reconciler, and nothing else is sent
    CHECK(kernel.dumps() == 1);
    CHECK(kernel.operations_applied() == 0);
}
