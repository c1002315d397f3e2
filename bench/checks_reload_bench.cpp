// How long a reload holds the event loop in the health-check engine: `checks_reload_bench
// [REAL_SERVERS]` (default 10,000 HTTP checks) times health_monitor updates on simulated time (no
// probe runs), the whole update at once and the longest loop turn of update_in_turns, for an
// unchanged config, a weight changed on every server (the reload vrrp_jitter makes every 2 s) and
// one changed check. The VRRP adverts share this loop: its turn is their worst-case delay.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "base/random_source.hpp"
#include "checkers/health_monitor.hpp"

using namespace vigil;
using namespace vigil::checkers;
using namespace std::chrono_literals;

namespace {

struct null_sink final : log_sink {
    void write(const log_record&) override {}
};

std::vector<checked_server_spec> make_servers(int count, unsigned weight) {
    std::vector<checked_server_spec> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        checked_server_spec s;
        s.checks.emplace_back();
        s.virtual_server = "vs" + std::to_string(i / 1000);
        auto address = "127.1." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
        s.endpoint = ip_endpoint{*parse_address(address), 8080};
        s.name = s.virtual_server + "/" + to_string(s.endpoint);
        s.weight = weight;
        auto& check = s.checks.front();
        check.type = check_type::http;
        check.interval = 1s;
        check.recheck_interval = 1s;
        check.timeout = 1s;
        check.http.path = "/health";
        out.push_back(std::move(s));
    }
    return out;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct figures {
    std::vector<double> whole;     // update(): one turn
    std::vector<double> max_turn;  // update_in_turns(): its longest turn
    std::vector<double> turns;     // how many turns it took
};

void print(const char* what, figures& f) {
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::printf(
        "%-28s update: median %6.2f ms, max %6.2f ms | in turns: longest turn median %5.2f "
        "ms, max %5.2f ms, %3.0f turns\n",
        what, median(f.whole), *std::max_element(f.whole.begin(), f.whole.end()),
        median(f.max_turn), *std::max_element(f.max_turn.begin(), f.max_turn.end()),
        median(f.turns));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--help") {
        std::puts("usage: checks_reload_bench [REAL_SERVERS]  (default 10000)");
        return 0;
    }
    int count = argc > 1 ? std::atoi(argv[1]) : 10000;
    boost::asio::io_context io(1);
    event_log log(std::make_unique<null_sink>());
    random_source random(1);
    manual_clock clock(time_point{} + 1000h);
    health_monitor monitor(io.get_executor(), log, random, clock, [](const health_change&) {});
    auto t0 = std::chrono::steady_clock::now();
    monitor.update(make_servers(count, 1));
    std::printf("checks_reload_bench: %d real servers (HTTP), first update %.1f ms\n", count,
                ms_since(t0));

    auto run = [&](const char* what, auto make) {
        figures f;
        for (int i = 0; i < 7; ++i) {
            auto servers = make(i);
            t0 = std::chrono::steady_clock::now();
            monitor.update(std::move(servers));
            f.whole.push_back(ms_since(t0));
            servers = make(i + 1);
            bool done = false;
            double longest = 0;
            int turns = 1;
            io.restart();
            t0 = std::chrono::steady_clock::now();
            monitor.update_in_turns(std::move(servers),
                                    [&](std::vector<std::string>) { done = true; });
            longest = ms_since(t0);
            while (!done) {
                t0 = std::chrono::steady_clock::now();
                if (io.poll_one() == 0) {
                    break;
                }
                longest = std::max(longest, ms_since(t0));
                ++turns;
            }
            f.max_turn.push_back(longest);
            f.turns.push_back(turns);
        }
        print(what, f);
    };
    run("unchanged", [&](int) { return make_servers(count, 1); });
    run("weight changed everywhere",
        [&](int i) { return make_servers(count, 1U + static_cast<unsigned>(i % 2)); });
    run("one check changed", [&](int i) {
        auto servers = make_servers(count, 1);
        servers[0].checks.front().http.path = i % 2 ? "/a" : "/b";
        return servers;
    });
    return 0;
}
