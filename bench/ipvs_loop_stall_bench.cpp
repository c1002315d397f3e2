// Runs INSIDE the IPVS guest (bench/ipvs_loop_stall_bench.sh boots it): how long the event loop
// goes without running a 10 ms timer (what a VRRP advert timer would see) while the reconciler
// programs 10,000 destinations (100 services x 100) into an empty kernel table, reconciles that
// table when nothing changed (a dump of 10,000 and a diff), and removes it on shutdown; once with
// the kernel calls inline on the loop (as before the worker thread), once on the worker.
// `ipvs_loop_stall_bench ROUNDS memory` runs on any host against the memory backend: what is left
// on the loop with the worker (the diff, the view) at native speed.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "ipvs/backend_worker.hpp"
#include "ipvs/memory_backend.hpp"
#include "ipvs/netlink_backend.hpp"
#include "ipvs/reconciler.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int services = 100;
constexpr int per_service = 100;

std::vector<virtual_server_spec> big_specs() {
    std::vector<virtual_server_spec> out;
    for (int s = 0; s < services; ++s) {
        virtual_server_spec vs;
        auto address = "10.100." + std::to_string(s / 250) + "." + std::to_string(s % 250 + 1);
        vs.name = "vs" + std::to_string(s);
        service_options o;
        o.sched = scheduler::wrr;
        vs.settings = make_service(
            service_key::for_address(protocol::tcp, *parse_endpoint(address + ":80")), o);
        vs.quorum = 0;
        for (int d = 0; d < per_service; ++d) {
            auto rs = "10.101." + std::to_string(s) + "." + std::to_string(d + 1) + ":8080";
            vs.real_servers.push_back({vs.name + "/" + rs, *parse_endpoint(rs), 1, 0, 0});
        }
        out.push_back(std::move(vs));
    }
    return out;
}

// A timer every 10 ms on the loop; `max_late` is the worst lateness of one expiry.
struct ticker {
    boost::asio::steady_timer timer;
    clock_type::time_point due;
    clock_type::duration max_late{0};
    explicit ticker(boost::asio::io_context& io) : timer(io) {}
    void start() {
        max_late = {};
        due = clock_type::now() + std::chrono::milliseconds(10);
        wait();
    }
    void wait() {
        timer.expires_at(due);
        timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            auto now = clock_type::now();
            max_late = std::max(max_late, now - due);
            due = now + std::chrono::milliseconds(10);
            wait();
        });
    }
    double max_late_ms() const {
        return std::chrono::duration<double, std::milli>(max_late).count();
    }
};

template <class Predicate>
void run_until(boost::asio::io_context& io, Predicate done) {
    auto give_up = clock_type::now() + std::chrono::minutes(5);
    while (!done() && clock_type::now() < give_up) {
        io.restart();
        io.run_for(std::chrono::milliseconds(1));
    }
}

struct phase_result {
    double apply_stall_ms = 0, apply_ms = 0;
    double noop_stall_ms = 0, noop_ms = 0;
    double shutdown_stall_ms = 0;
};

phase_result measure(backend& kernel, backend_worker::threading threading) {
    if (kernel.name() == "netlink" && std::system("ipvsadm -C") != 0) {
        std::cerr << "ipvsadm -C failed\n";
        std::exit(1);
    }
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    event_log log(make_fd_sink(2, log_format::text), log_level::warning);
    backend_worker worker(kernel, io.get_executor(), threading);
    reconciler_spec settings;
    settings.resync_interval = std::chrono::milliseconds(0);
    settings.remove_on_shutdown = true;
    reconciler r(clock, worker, log, settings);
    r.set_specs(big_specs());
    ticker tick(io);
    phase_result out;
    // The first sync is the startup one (start() arms it); the second one is asked for.
    bool started = false;
    auto sync = [&](double& stall, double& took) {
        std::optional<sync_report> report;
        tick.start();
        auto t0 = clock_type::now();
        // The ticker's first expiry comes first: the sync starts from a turn of the loop.
        boost::asio::steady_timer start(io, std::chrono::milliseconds(15));
        start.async_wait([&](const boost::system::error_code&) {
            if (!started) {
                started = true;
                r.start();
                return;
            }
            r.sync_now("manual", [&](const sync_report& done) { report = done; });
        });
        auto syncs_before = r.last_report() ? 1 : 0;
        run_until(io, [&] {
            if (!report && syncs_before == 0 && r.last_report() && r.in_flight() == 0) {
                report = r.last_report();
            }
            return report.has_value() && r.in_flight() == 0;
        });
        run_until(io, [&, until = clock_type::now() + std::chrono::milliseconds(30)] {
            return clock_type::now() >= until;
        });
        took = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count() - 45;
        stall = tick.max_late_ms();
        if (!report || report->failed != 0) {
            std::cerr << "sync failed\n";
            std::exit(1);
        }
        return *report;
    };
    auto first = sync(out.apply_stall_ms, out.apply_ms);
    if (first.operations != static_cast<std::size_t>(services * (per_service + 1))) {
        std::cerr << "apply: " << first.operations << " operations\n";
        std::exit(1);
    }
    out.apply_ms = static_cast<double>((first.dump_time + first.apply_time).count()) / 1000.0;
    auto noop = sync(out.noop_stall_ms, out.noop_ms);
    out.noop_ms = static_cast<double>((noop.dump_time + noop.apply_time).count()) / 1000.0;
    tick.start();
    boost::asio::steady_timer start(io, std::chrono::milliseconds(15));
    start.async_wait([&](const boost::system::error_code&) { r.shutdown(); });
    run_until(io, [&] { return r.owned().empty() && !r.shutting_down() && r.in_flight() == 0; });
    out.shutdown_stall_ms = tick.max_late_ms();
    tick.timer.cancel();
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = argc > 1 ? std::atoi(argv[1]) : 2;
    bool memory = argc > 2 && std::string(argv[2]) == "memory";
    std::unique_ptr<backend> kernel_owner;
    if (memory) {
        kernel_owner = std::make_unique<memory_backend>();
    } else {
        // The daemon's bounds (netlink_limits' defaults).
        auto opened = netlink_backend::open();
        if (!opened.backend) {
            std::cerr << opened.error << "\n";
            return 1;
        }
        kernel_owner = std::move(opened.backend);
    }
    auto& kernel = *kernel_owner;
    for (int round = 0; round < rounds; ++round) {
        for (auto threading :
             {backend_worker::threading::inline_calls, backend_worker::threading::own_thread}) {
            auto r = measure(kernel, threading);
            const char* name =
                threading == backend_worker::threading::inline_calls ? "on_loop" : "worker";
            std::printf(
                "RESULT loop_stall_%s_%s round=%d apply_10000_max_late_ms=%.1f (kernel %.1f ms) "
                "noop_sync_max_late_ms=%.1f (kernel %.1f ms) shutdown_remove_max_late_ms=%.1f\n",
                std::string(kernel.name()).c_str(), name, round, r.apply_stall_ms, r.apply_ms,
                r.noop_stall_ms, r.noop_ms, r.shutdown_stall_ms);
            std::fflush(stdout);
        }
    }
    return 0;
}
