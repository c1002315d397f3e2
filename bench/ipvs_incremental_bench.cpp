// Detection to netlink operation for one real server going down among 10,000, on the host with
// the memory backend (which answers as the kernel does): the time from set_health() to the
// reconciler handing the backend its operation, and how many operations and dumps that took. Then
// a storm: 5,000 real servers failing in one loop turn. Prints numbers; no pass/fail.
// Usage: build/bench/ipvs_incremental_bench [TRIALS]
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "counting_backend.hpp"
#include "ipvs/memory_backend.hpp"
#include "ipvs/reconciler.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using vigil::ipvs::bench::counting_backend;
using clock_type = std::chrono::steady_clock;

namespace {

std::vector<virtual_server_spec> layout(int services, int per_service) {
    std::vector<virtual_server_spec> specs;
    for (int s = 0; s < services; ++s) {
        virtual_server_spec vs;
        vs.name = "vs" + std::to_string(s);
        service_options o;
        o.sched = scheduler::wrr;
        auto address = "10.100." + std::to_string(s / 250) + "." + std::to_string(s % 250 + 1);
        vs.settings = make_service(
            service_key::for_address(protocol::tcp, *parse_endpoint(address + ":80")), o);
        for (int d = 0; d < per_service; ++d) {
            auto rs = "10." + std::to_string(101 + d / 62500) + "." +
                      std::to_string(d / 250 % 250) + "." + std::to_string(d % 250 + 1) + ":" +
                      std::to_string(8000 + s);
            vs.real_servers.push_back({vs.name + "/" + rs, *parse_endpoint(rs), 1, 0, 0});
        }
        specs.push_back(std::move(vs));
    }
    return specs;
}

double us(clock_type::duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    return v[i];
}

void run(int services, int per_service, int trials) {
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    memory_backend memory;
    counting_backend kernel(memory);
    event_log log(make_fd_sink(2, log_format::text), log_level::error);
    reconciler_spec settings;
    settings.resync_interval = std::chrono::milliseconds(0);
    // One change at a time, however fast the trials come: the storm cap is measured below.
    settings.incremental_burst = static_cast<std::size_t>(trials) * 2 + 1;
    auto specs = layout(services, per_service);
    // The kernel calls run inline: the times are the reconciler's and the backend's, unthreaded.
    backend_worker worker(kernel, io.get_executor(), backend_worker::threading::inline_calls);
    reconciler r(clock, worker, log, settings);
    r.set_specs(specs);
    r.start();
    std::optional<sync_report> startup_report;
    r.sync_now("startup", [&](const sync_report& done) { startup_report = done; });
    io.restart();
    io.poll();
    auto startup = startup_report.value_or(sync_report{});
    std::mt19937 random(1);
    std::vector<double> to_operation, to_return;
    std::size_t operations = 0, dumps = 0, calls = 0;
    for (int t = 0; t < trials; ++t) {
        const auto& vs = specs[random() % specs.size()];
        const auto& rs = vs.real_servers[random() % vs.real_servers.size()];
        kernel.reset();
        auto t0 = clock_type::now();
        r.set_health(rs.name, {false, {}});
        auto t1 = clock_type::now();
        if (kernel.first_apply_at) {
            to_operation.push_back(us(*kernel.first_apply_at - t0));
        }
        to_return.push_back(us(t1 - t0));
        operations += kernel.operations;
        dumps += kernel.dumps;
        calls += kernel.apply_calls;
        io.restart();
        io.poll();
        r.set_health(rs.name, {true, {}});  // back up, untimed
        io.restart();
        io.poll();
    }
    std::printf(
        "%d services x %d real servers (startup: %zu operations in %.1f ms): one real server down,"
        " %d trials\n",
        services, per_service, startup.operations,
        static_cast<double>(startup.apply_time.count()) / 1000.0, trials);
    std::printf(
        "  set_health -> operation handed to the backend: median %.1f us, p99 %.1f us, "
        "max %.1f us\n",
        percentile(to_operation, 0.5), percentile(to_operation, 0.99),
        percentile(to_operation, 1.0));
    std::printf("  set_health returned (operation answered): median %.1f us, p99 %.1f us\n",
                percentile(to_return, 0.5), percentile(to_return, 0.99));
    std::printf("  per change: %.2f operations, %.2f apply calls, %.2f dumps\n",
                static_cast<double>(operations) / trials, static_cast<double>(calls) / trials,
                static_cast<double>(dumps) / trials);
    std::printf(
        "RESULT incremental_%dx%d_median_us=%.1f p99_us=%.1f operations_per_change=%.2f "
        "dumps=%zu\n",
        services, per_service, percentile(to_operation, 0.5), percentile(to_operation, 0.99),
        static_cast<double>(operations) / trials, dumps);
}

void storm() {
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    memory_backend memory;
    counting_backend kernel(memory);
    event_log log(make_fd_sink(2, log_format::text), log_level::error);
    reconciler_spec settings;  // the defaults: 32 at once per 200 ms, then one batch
    settings.resync_interval = std::chrono::milliseconds(0);
    auto specs = layout(1, 10'000);
    specs[0].quorum = 0;
    // The kernel calls run inline: the times are the reconciler's and the backend's, unthreaded.
    backend_worker worker(kernel, io.get_executor(), backend_worker::threading::inline_calls);
    reconciler r(clock, worker, log, settings);
    r.set_specs(specs);
    r.start();
    r.sync_now("startup");
    io.restart();
    io.poll();
    kernel.reset();
    auto t0 = clock_type::now();
    for (int i = 0; i < 5000; ++i) {
        r.set_health(specs[0].real_servers[static_cast<std::size_t>(i)].name, {false, {}});
    }
    auto turn = clock_type::now() - t0;
    auto at_once = kernel.apply_calls;
    io.restart();
    while (kernel.apply_calls == at_once && io.run_one() > 0) {
        // until the batch at the window's end
    }
    auto total = clock_type::now() - t0;
    std::printf(
        "storm: 5,000 of 10,000 real servers down in one turn: the turn took %.1f ms "
        "(%zu single operations), then the rest in batches after %.0f ms: %zu apply calls, %zu "
        "operations, %zu dumps\n",
        us(turn) / 1000.0, at_once, us(total) / 1000.0, kernel.apply_calls, kernel.operations,
        kernel.dumps);
    std::printf("RESULT storm_apply_calls=%zu operations=%zu dumps=%zu turn_ms=%.1f\n",
                kernel.apply_calls, kernel.operations, kernel.dumps, us(turn) / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
    int trials = argc > 1 ? std::atoi(argv[1]) : 5000;
    run(100, 100, trials);
    run(1, 10'000, trials);
    storm();
    return 0;
}
