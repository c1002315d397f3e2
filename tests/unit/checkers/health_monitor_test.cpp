#include "checkers/health_monitor.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace vigil;
using namespace vigil::checkers;
using namespace std::chrono_literals;
namespace asio = boost::asio;

// The engine on simulated time: a manual clock drives its timer, while the probes are real (TCP
// connects to loopback, scripts run as children) and finish on the io_context in real time.

namespace {

const time_point t0 = time_point{} + 1000h;

// A port that accepts connections for as long as it is open: a healthy TCP server. A silent one
// leaves them in its accept queue: connected, and never a byte or an end of file.
class listener {
  public:
    enum class kind { healthy, silent };
    explicit listener(asio::io_context& io, std::uint16_t port = 0,
                      const char* address = "127.0.0.1", kind k = kind::healthy)
        : acceptor_(io), address_(address), kind_(k) {
        open(port);
    }
    void open(std::uint16_t port) {
        asio::ip::tcp::endpoint at(asio::ip::make_address(address_), port);
        acceptor_.open(at.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(at);
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        if (kind_ == kind::healthy) {
            accept();
        }
    }
    void close() { acceptor_.close(); }
    void reopen() { open(port_); }
    std::uint16_t port() const { return port_; }

  private:
    // Accepts and drops every connection: left in the accept queue, thousands of probes would
    // fill it and later connects would hang.
    void accept() {
        acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket) {
            if (!ec) {
                accept();
            }
        });
    }

    asio::ip::tcp::acceptor acceptor_;
    const char* address_;
    kind kind_;
    std::uint16_t port_ = 0;
};

// A loopback port nothing listens on: connecting is refused at once.
std::uint16_t closed_port(asio::io_context& io) {
    listener l(io);
    auto port = l.port();
    l.close();
    return port;
}

ip_endpoint loopback(std::uint16_t port) {
    return ip_endpoint{*parse_address("127.0.0.1"), port};
}

checked_server_spec tcp_server(const std::string& vs, std::uint16_t port, unsigned rise = 1,
                               unsigned fall = 1) {
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = vs;
    s.endpoint = loopback(port);
    s.name = vs + "/127.0.0.1:" + std::to_string(port);
    s.checks.front().type = check_type::tcp;
    s.checks.front().interval = 2s;
    s.checks.front().recheck_interval = 500ms;
    s.checks.front().timeout = 1s;
    s.checks.front().rise = rise;
    s.checks.front().fall = fall;
    return s;
}

checked_server_spec script_server(const std::string& name, std::vector<std::string> argv) {
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = "scripts";
    s.endpoint = loopback(9);
    s.name = name;
    s.checks.front().type = check_type::script;
    s.checks.front().interval = 1s;
    s.checks.front().recheck_interval = 1s;
    s.checks.front().timeout = 5s;
    s.checks.front().script.argv = std::move(argv);
    return s;
}

class capturing_sink final : public log_sink {
  public:
    explicit capturing_sink(std::vector<std::string>& lines) : lines_(lines) {}
    void write(const log_record& record) override { lines_.push_back(format_json(record)); }

  private:
    std::vector<std::string>& lines_;
};

struct engine {
    asio::io_context io;
    std::vector<std::string> lines;
    event_log log{std::make_unique<capturing_sink>(lines), log_level::debug};
    random_source random{7};
    manual_clock clock{t0};
    std::vector<health_change> changes;
    health_monitor monitor;
    // Probes the test knows will run until their timeout: settle() does not wait for them.
    std::size_t never_answering = 0;

    explicit engine(std::size_t max_running = health_monitor::default_max_running)
        : monitor(
              io.get_executor(), log, random, clock,
              [this](const health_change& c) { changes.push_back(c); }, max_running) {}

    // Lets every probe that is running finish on the loop (real sockets and children), without
    // moving simulated time, so no probe times out while its answer is on its way.
    void settle() {
        auto give_up = std::chrono::steady_clock::now() + 10s;
        // An io_context that ran out of work stays stopped until restarted.
        while (monitor.stats().running > never_answering &&
               std::chrono::steady_clock::now() < give_up) {
            io.restart();
            io.run_for(1ms);
        }
        io.restart();
        io.poll();
    }

    // Moves simulated time forward in small steps, settling the probes each step starts.
    void advance(mono_clock::duration by, mono_clock::duration step = 10ms) {
        auto end = clock.now() + by;
        while (clock.now() < end) {
            clock.advance(std::min<mono_clock::duration>(step, end - clock.now()));
            settle();
        }
    }

    // Advances until `count` more runs completed (or timed out), at most `limit` of simulated time.
    bool advance_runs(std::uint64_t count, mono_clock::duration limit = 60s) {
        auto target = monitor.stats().runs_completed + count;
        auto end = clock.now() + limit;
        while (monitor.stats().runs_completed < target && clock.now() < end) {
            advance(10ms);
        }
        return monitor.stats().runs_completed >= target;
    }

    // Advances until `done` holds, at most `limit` of simulated time.
    template <typename Predicate>
    bool advance_until(Predicate done, mono_clock::duration limit = 30s) {
        auto end = clock.now() + limit;
        while (!done() && clock.now() < end) {
            advance(10ms);
        }
        return done();
    }

    real_server_status state(const std::string& name) const { return *monitor.status(name); }

    std::size_t logged(const std::string& needle) const {
        std::size_t n = 0;
        for (const auto& line : lines) {
            n += line.find(needle) != std::string::npos ? 1U : 0U;
        }
        return n;
    }
};

}  // namespace

TEST_CASE("every newly registered server is reported once with its initial state") {
    engine e;
    auto up = tcp_server("web", 1001);
    auto down = tcp_server("api", 1002);
    down.checks.front().initial_state = health::down;
    e.monitor.update({up, down});
    REQUIRE(e.changes.size() == 2);
    CHECK(e.changes[0].real_server == up.name);
    CHECK(e.changes[0].state == health::up);
    CHECK(e.changes[1].state == health::down);
    CHECK(e.lines.empty());              // registration is not a transition
    CHECK(e.clock.armed_timers() == 1);  // one timer serves every probe
}

TEST_CASE("a server goes down after `fall` refused connections, up after `rise` accepted ones") {
    engine e;
    listener server(e.io);
    auto spec = tcp_server("web", server.port(), 2, 3);
    e.monitor.update({spec});
    e.changes.clear();

    // The first run lies within one interval; it finds the server up.
    REQUIRE(e.advance_runs(1, 2s));
    CHECK(e.state(spec.name).checks.front().checked);
    CHECK(e.state(spec.name).checks.front().last.success);
    CHECK(e.changes.empty());

    server.close();
    REQUIRE(e.advance_runs(1));
    auto first_failure = e.state(spec.name).checks.front().last_checked;
    CHECK(e.state(spec.name).state == health::up);
    CHECK(e.state(spec.name).checks.front().pending == 1);
    REQUIRE(e.advance_runs(1));
    CHECK(e.state(spec.name).state == health::up);
    CHECK(e.changes.empty());
    REQUIRE(e.advance_runs(1));
    auto s = e.state(spec.name);
    CHECK(s.state == health::down);
    CHECK_FALSE(s.checks.front().last.success);
    // Once a failure is pending the probe runs at the recheck interval: fall 3 takes 2 rechecks.
    CHECK(s.since - first_failure == 2 * spec.checks.front().recheck_interval);
    REQUIRE(e.changes.size() == 1);
    CHECK(e.changes[0].state == health::down);
    CHECK(e.logged("\"event\":\"real_server.down\"") == 1);
    CHECK(e.logged("\"reason\":\"connection refused\"") >= 1);

    server.reopen();
    REQUIRE(e.advance_runs(1));
    CHECK(e.state(spec.name).state == health::down);
    REQUIRE(e.advance_runs(1));
    CHECK(e.state(spec.name).state == health::up);
    REQUIRE(e.changes.size() == 2);
    CHECK(e.changes[1].state == health::up);
    CHECK(e.logged("\"event\":\"real_server.up\"") == 1);
}

TEST_CASE("a healthy server is probed once per interval and never reported again") {
    engine e;
    listener server(e.io);
    auto spec = tcp_server("web", server.port());
    e.monitor.update({spec});
    e.changes.clear();
    e.advance(2s);  // past the jittered first run
    auto before = e.monitor.stats().runs_completed;
    CHECK(before == 1);
    e.advance(10s);
    CHECK(e.monitor.stats().runs_completed - before == 5);
    CHECK(e.changes.empty());
    CHECK(e.lines.empty());
}

TEST_CASE("script probes: exit 0 brings a server up, exit 1 takes it down") {
    engine e;
    auto good = script_server("scripts/good", {"/bin/true"});
    good.checks.front().initial_state = health::down;
    auto bad = script_server("scripts/bad", {"/bin/false"});
    e.monitor.update({good, bad});
    e.changes.clear();
    e.advance(1s);
    CHECK(e.state(good.name).state == health::up);
    CHECK(e.state(bad.name).state == health::down);
    CHECK(e.state(bad.name).checks.front().last.reason == "script exit 1");
    CHECK(e.changes.size() == 2);
    CHECK(e.logged("\"event\":\"real_server.up\"") == 1);
    CHECK(e.logged("\"event\":\"real_server.down\"") == 1);
}

TEST_CASE("a script run as a user that does not exist fails with the lookup's message") {
    engine e;
    auto spec = script_server("scripts/nobody-here", {"/bin/true"});
    spec.checks.front().script.user = look_up_user("vigil-no-such-user");
    e.monitor.update({spec});
    e.advance(1s);
    CHECK(e.state(spec.name).state == health::down);
    CHECK(e.state(spec.name).checks.front().last.reason ==
          "script did not start: unknown user \"vigil-no-such-user\"");
}

TEST_CASE("a reload keeps the state, history and schedule of unchanged servers") {
    engine e;
    auto port = closed_port(e.io);
    auto a = tcp_server("web", port);
    auto b = tcp_server("api", port);
    b.checks.front().timeout = 900ms;  // a probe of its own
    e.monitor.update({a, b});
    e.advance(2s);
    REQUIRE(e.state(a.name).state == health::down);
    REQUIRE(e.state(b.name).state == health::down);
    auto a_before = e.state(a.name);
    auto runs_before = e.monitor.stats().runs_started;
    e.changes.clear();

    auto c = tcp_server("db", port);
    b.weight = 5;
    e.monitor.update({a, b, c});
    // Only the weight change and the new server are reported; nothing was reset to up.
    REQUIRE(e.changes.size() == 2);
    CHECK(e.changes[0].real_server == b.name);
    CHECK(e.changes[0].state == health::down);
    CHECK(e.changes[0].weight == 5);
    CHECK(e.changes[1].real_server == c.name);
    CHECK(e.changes[1].state == health::up);
    auto a_after = e.state(a.name);
    CHECK(a_after.state == health::down);
    CHECK(a_after.since == a_before.since);
    CHECK(a_after.checks.front().last_checked == a_before.checks.front().last_checked);
    CHECK(a_after.checks.front().consecutive == a_before.checks.front().consecutive);
    // No probe was restarted by the reload: the next runs come on their old schedule.
    e.clock.advance(0s);
    e.settle();
    CHECK(e.monitor.stats().runs_started == runs_before);
    CHECK(e.state(b.name).weight == 5);
}

TEST_CASE("a reload that changes a check keeps the server's state instead of its initial one") {
    engine e;
    auto port = closed_port(e.io);
    auto a = tcp_server("web", port);
    e.monitor.update({a});
    e.advance(2s);
    REQUIRE(e.state(a.name).state == health::down);
    e.changes.clear();
    a.checks.front().timeout = 700ms;
    e.monitor.update({a});
    CHECK(e.changes.empty());
    CHECK(e.state(a.name).state == health::down);
}

TEST_CASE("identical checks on several virtual servers run as one probe") {
    engine e;
    listener server(e.io);
    auto a = tcp_server("web", server.port());
    auto b = tcp_server("api", server.port());
    b.checks.front().rise = 3;  // counters stay per real server
    b.weight = 9;
    e.monitor.update({a, b});
    CHECK(e.monitor.stats().real_servers == 2);
    CHECK(e.monitor.stats().probes == 1);
    e.advance(10s);
    // One run answers both: five intervals, five runs.
    CHECK(e.monitor.stats().runs_completed == 5);
    CHECK(e.state(a.name).checks.front().last_checked ==
          e.state(b.name).checks.front().last_checked);
    CHECK(e.state(b.name).checks.front().consecutive == 5);

    auto c = tcp_server("db", server.port());
    c.checks.front().timeout = 800ms;  // any difference is a probe of its own
    e.monitor.update({a, b, c});
    CHECK(e.monitor.stats().probes == 2);
    // Removing one of the sharers keeps the probe for the other.
    e.monitor.update({b, c});
    CHECK(e.monitor.stats().probes == 2);
    e.monitor.update({c});
    CHECK(e.monitor.stats().probes == 1);
}

TEST_CASE("a removed server is no longer probed and its timer is released") {
    engine e;
    listener server(e.io);
    e.monitor.update({tcp_server("web", server.port())});
    CHECK(e.clock.armed_timers() == 1);
    e.monitor.update({});
    CHECK(e.clock.armed_timers() == 0);
    e.advance(5s);
    CHECK(e.monitor.stats().runs_started == 0);
}

TEST_CASE(
    "overload only delays probes: waiting in vigil's queue never times a healthy server out") {
    // 300 healthy servers every 250 ms, two probes at a time: about 1,200 runs a second are asked
    // for and about 200 fit, so every run waits over a second for its slot, ten times its timeout.
    engine e(2);
    listener any(e.io, 0, "0.0.0.0");  // every 127.x.y.z answers
    std::vector<checked_server_spec> specs;
    for (int i = 0; i < 300; ++i) {
        auto s = tcp_server("web", any.port());
        s.endpoint = ip_endpoint{
            *parse_address("127.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)),
            any.port()};
        s.name = "web/" + to_string(s.endpoint);
        s.checks.front().interval = 250ms;
        s.checks.front().recheck_interval = 250ms;
        s.checks.front().timeout = 100ms;
        specs.push_back(s);
    }
    auto dead = tcp_server("dead", closed_port(e.io));
    dead.checks.front().interval = 250ms;
    dead.checks.front().timeout = 100ms;
    specs.push_back(dead);
    e.monitor.update(specs);
    REQUIRE(e.monitor.stats().probes == 301);
    e.changes.clear();

    e.advance(25s);
    auto stats = e.monitor.stats();
    CHECK(stats.runs_completed > 3000);
    CHECK(stats.runs_timed_out == 0);
    CHECK(stats.running <= 2);
    CHECK(stats.max_start_lag > 1s);
    CHECK(stats.start_lag > 1s);
    CHECK(stats.runs_deferred > 3000);
    // Only the server that refuses connections went down, for its own failure.
    REQUIRE(e.changes.size() == 1);
    CHECK(e.changes[0].real_server == dead.name);
    CHECK(e.changes[0].state == health::down);
    CHECK(e.logged("\"event\":\"real_server.down\"") == 1);
    for (const auto& s : specs) {
        if (s.name != dead.name) {
            CHECK(e.state(s.name).state == health::up);
        }
    }
    // Said, with the lag, but once per 10 s rather than once per late run.
    auto said = e.logged("\"event\":\"checker.overloaded\"");
    CHECK(said >= 2);
    CHECK(said <= 3);
    CHECK(e.logged("\"lag_ms\":") == said);
}

TEST_CASE("a server that stops answering under overload is still taken down by its timeout") {
    engine e(1);
    listener any(e.io, 0, "0.0.0.0");
    std::vector<checked_server_spec> specs;
    for (int i = 0; i < 50; ++i) {
        auto s = tcp_server("web", any.port());
        s.endpoint = ip_endpoint{*parse_address("127.0.2." + std::to_string(i + 1)), any.port()};
        s.name = "web/" + to_string(s.endpoint);
        s.checks.front().interval = 250ms;
        s.checks.front().timeout = 100ms;
        specs.push_back(s);
    }
    // Connects (into the accept queue) but never gets the greeting it waits for.
    listener quiet(e.io, 0, "127.0.0.1", listener::kind::silent);
    auto silent = tcp_server("silent", quiet.port());
    silent.name = "silent/" + to_string(silent.endpoint);
    silent.checks.front().interval = 250ms;
    silent.checks.front().timeout = 100ms;
    silent.checks.front().tcp.expect = "hello";
    specs.push_back(silent);
    e.monitor.update(specs);
    e.changes.clear();
    // The silent probe holds its slot until its own timeout; settle() cannot wait it out.
    e.never_answering = 1;
    e.advance(10s);
    CHECK(e.state(silent.name).state == health::down);
    CHECK(e.state(silent.name).checks.front().last.reason == "timeout");
    CHECK(e.monitor.stats().runs_timed_out >= 1);
    REQUIRE(e.changes.size() == 1);
    CHECK(e.changes[0].real_server == silent.name);
}

TEST_CASE(
    "a server with several checks is up only while every one is, and the failing one is named") {
    engine e;
    listener web(e.io);
    listener db(e.io);
    auto spec = tcp_server("web", web.port());
    spec.checks.front().name = "port";
    auto& backend = spec.checks.emplace_back(spec.checks.front());
    backend.name = "database";
    backend.connect = loopback(db.port());  // a probe of its own
    backend.fall = 2;
    e.monitor.update({spec});
    e.changes.clear();
    REQUIRE(e.monitor.stats().probes == 2);
    e.advance(2s);
    REQUIRE(e.state(spec.name).state == health::up);
    REQUIRE(e.state(spec.name).checks.size() == 2);
    CHECK(e.state(spec.name).checks[1].name == "database");

    // The second check fails: after its own fall (2), the server goes down and the event names it.
    db.close();
    REQUIRE(e.advance_until([&] { return e.state(spec.name).state == health::down; }));
    auto s = e.state(spec.name);
    CHECK(s.checks[0].state == health::up);
    CHECK(s.checks[1].state == health::down);
    CHECK(s.checks[1].consecutive == 2);
    CHECK(&s.deciding() == &s.checks[1]);
    REQUIRE(e.changes.size() == 1);
    CHECK(e.changes[0].state == health::down);
    CHECK(e.logged("\"event\":\"real_server.down\"") == 1);
    CHECK(e.logged("\"check\":\"database\",\"reason\":\"connection refused\"") == 1);

    // The first check fails too: the server stays down, the check's own transition is logged.
    web.close();
    REQUIRE(e.advance_until([&] { return e.state(spec.name).checks[0].state == health::down; }));
    CHECK(e.changes.size() == 1);
    CHECK(e.logged("\"event\":\"real_server.check_down\"") == 1);
    CHECK(e.logged("\"check\":\"port\"") == 1);

    // One recovers: still down. Both: up, named by the check that came back last.
    web.reopen();
    REQUIRE(e.advance_until([&] { return e.state(spec.name).checks[0].state == health::up; }));
    CHECK(e.state(spec.name).state == health::down);
    CHECK(e.logged("\"event\":\"real_server.check_up\"") == 1);
    db.reopen();
    REQUIRE(e.advance_until([&] { return e.state(spec.name).state == health::up; }));
    REQUIRE(e.changes.size() == 2);
    CHECK(e.changes[1].state == health::up);
    CHECK(e.logged("\"event\":\"real_server.up\"") == 1);
    CHECK(e.lines.back().find("\"check\":\"database\"") != std::string::npos);
}

TEST_CASE("a reload adds and removes checks by name without resetting the others") {
    engine e;
    listener web(e.io);
    auto closed = closed_port(e.io);
    auto spec = tcp_server("web", web.port());
    e.monitor.update({spec});
    e.advance(2s);
    REQUIRE(e.state(spec.name).state == health::up);
    auto first = e.state(spec.name).checks.front();
    e.changes.clear();

    // An added check starts from the server's state: up, until its own fall.
    auto& failing = spec.checks.emplace_back(spec.checks.front());
    failing.name = "other";
    failing.connect = loopback(closed);
    e.monitor.update({spec});
    CHECK(e.changes.empty());
    CHECK(e.state(spec.name).checks.size() == 2);
    CHECK(e.state(spec.name).checks[1].state == health::up);
    CHECK(e.state(spec.name).checks[0].last_checked == first.last_checked);  // kept
    e.advance(2s);
    REQUIRE(e.state(spec.name).state == health::down);
    REQUIRE(e.changes.size() == 1);

    // Removing the failing check brings the server back at once, for the reload.
    spec.checks.pop_back();
    e.monitor.update({spec});
    CHECK(e.state(spec.name).state == health::up);
    CHECK(e.state(spec.name).checks.size() == 1);
    REQUIRE(e.changes.size() == 2);
    CHECK(e.changes[1].state == health::up);
    CHECK(e.logged("\"reason\":\"reload\"") == 1);
    CHECK(e.monitor.stats().probes == 1);
}

TEST_CASE("the same check twice on one server, or on two, runs as one probe") {
    engine e;
    listener web(e.io);
    auto a = tcp_server("web", web.port());
    auto& again = a.checks.emplace_back(a.checks.front());
    again.name = "again";
    auto b = tcp_server("api", web.port());
    e.monitor.update({a, b});
    CHECK(e.monitor.stats().probes == 1);
    e.advance(2s);
    CHECK(e.monitor.stats().runs_completed == 1);
    CHECK(e.state(a.name).checks[1].checked);
    CHECK(e.state(b.name).checks[0].checked);
}

TEST_CASE("a reload in turns updates a batch per loop turn, then removes what left, then reports") {
    engine e;
    auto port = closed_port(e.io);
    auto servers = [&](std::size_t count, unsigned weight) {
        std::vector<checked_server_spec> out;
        for (std::size_t i = 0; i < count; ++i) {
            auto s = tcp_server("vs" + std::to_string(i), port);
            s.weight = weight;
            out.push_back(std::move(s));
        }
        return out;
    };
    auto total = 2 * health_monitor::update_batch + 7;
    e.monitor.update(servers(total, 1));
    REQUIRE(e.monitor.stats().real_servers == total);
    e.changes.clear();
    e.io.poll();  // closed_port's aborted accept: the turns below are the reload's own

    // Every weight changes and the last 7 servers leave: one batch on the call's own turn.
    auto next = servers(2 * health_monitor::update_batch, 2);
    next.push_back(tcp_server("new", port));
    std::optional<std::vector<std::string>> removed;
    e.monitor.update_in_turns(std::move(next),
                              [&](std::vector<std::string> gone) { removed = std::move(gone); });
    CHECK(e.changes.size() == health_monitor::update_batch);
    CHECK(e.state("vs0/127.0.0.1:" + std::to_string(port)).weight == 2);
    CHECK(e.state("vs" + std::to_string(total - 1) + "/127.0.0.1:" + std::to_string(port)).weight ==
          1);
    CHECK_FALSE(removed);
    e.io.restart();
    REQUIRE(e.io.poll_one() == 1);
    CHECK(e.changes.size() == 2 * health_monitor::update_batch);
    CHECK_FALSE(removed);
    // The new server, then the sweep (a few hash buckets per turn) until `done`.
    std::size_t turns = 1;
    while (!removed && e.io.poll_one() == 1) {
        ++turns;
    }
    REQUIRE(removed);
    CHECK(turns >= 2);
    CHECK(removed->size() == 7);
    CHECK(e.monitor.stats().real_servers == 2 * health_monitor::update_batch + 1);
    CHECK_FALSE(
        e.monitor.status("vs" + std::to_string(total - 1) + "/127.0.0.1:" + std::to_string(port)));
    CHECK(e.monitor.status("new/127.0.0.1:" + std::to_string(port)));
    // A reload that removes nothing walks no buckets: done on the turn of the last batch.
    e.monitor.update(servers(3, 1));
    removed.reset();
    e.monitor.update_in_turns(servers(3, 1),
                              [&](std::vector<std::string> gone) { removed = std::move(gone); });
    REQUIRE(removed);
    CHECK(removed->empty());
}

TEST_CASE("a reload in turns still reports done when the monitor goes before its last turn") {
    asio::io_context io;
    std::vector<std::string> lines;
    event_log log{std::make_unique<capturing_sink>(lines), log_level::debug};
    random_source random{7};
    manual_clock clock{t0};
    bool done = false;
    {
        health_monitor monitor(io.get_executor(), log, random, clock, [](const health_change&) {});
        std::vector<checked_server_spec> servers;
        for (std::size_t i = 0; i < 2 * health_monitor::update_batch; ++i) {
            servers.push_back(tcp_server("vs" + std::to_string(i), 9));
        }
        monitor.update_in_turns(std::move(servers), [&](std::vector<std::string>) { done = true; });
        CHECK_FALSE(done);
    }
    io.poll();
    CHECK(done);
}
