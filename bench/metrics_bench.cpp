// Builds the /metrics exposition and the `vigil status` document for 10,000 checked real servers
// (100 virtual servers of 100, in a synced memory-backend reconciler) and prints, for each, how
// long it keeps the loop busy (copying what it shows: what the daemon does on the loop) and how
// long rendering the copy takes (on the daemon's render worker).
#include <time.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "ipvs/memory_backend.hpp"
#include "ipvs/reconciler.hpp"
#include "metrics/scrape.hpp"
#include "status_document.hpp"

using namespace vigil;
using namespace std::chrono_literals;

namespace {

// The thread's own CPU time: what the scrape costs the loop, apart from other processes' load on
// a shared machine.
double thread_cpu_ms() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t virtual_servers = 100;
    std::size_t per_virtual_server = argc > 1 ? std::stoul(argv[1]) / virtual_servers : 100;
    manual_clock clock;
    ipvs::memory_backend kernel;
    boost::asio::io_context io;
    // Calls run inline; the loop delivers their answers to the reconciler.
    ipvs::backend_worker worker(kernel, io.get_executor(),
                                ipvs::backend_worker::threading::inline_calls);
    event_log log(std::make_unique<memory_sink>());
    ipvs::reconciler reconciler(clock, worker, log, ipvs::reconciler_spec{});

    std::vector<ipvs::virtual_server_spec> specs;
    std::vector<checkers::real_server_status> checked;
    for (std::size_t v = 0; v < virtual_servers; ++v) {
        ipvs::virtual_server_spec vs;
        vs.name = "vs" + std::to_string(v);
        auto vip = *parse_endpoint("192.0.2." + std::to_string(v % 250 + 1) + ":" +
                                   std::to_string(1000 + v));
        vs.settings = ipvs::make_service(ipvs::service_key::for_address(ipvs::protocol::tcp, vip),
                                         ipvs::service_options{});
        for (std::size_t r = 0; r < per_virtual_server; ++r) {
            auto address = "10." + std::to_string(v) + "." + std::to_string(r / 250) + "." +
                           std::to_string(r % 250 + 1) + ":80";
            auto name = vs.name + "/" + address;
            vs.real_servers.push_back({name, *parse_endpoint(address), 1, 0, 0});
            checkers::real_server_status s;
            s.name = name;
            s.virtual_server = vs.name;
            auto& c = s.checks.emplace_back();
            c.name = "http";
            c.checked = true;
            for (int i = 0; i < 20; ++i) {
                auto result = checkers::probe_result::ok();
                result.latency = std::chrono::milliseconds(i * 37 % 700);
                c.counts.add(result);
                c.last = result;
            }
            checked.push_back(std::move(s));
        }
        specs.push_back(std::move(vs));
    }
    reconciler.set_specs(std::move(specs));
    reconciler.start();
    reconciler.sync_now("startup");
    io.poll();

    struct figures {
        std::vector<double> copy_cpu, render_cpu;
        std::size_t bytes = 0;
    };
    auto measure = [](auto copy, auto render) {
        figures f;
        for (int run = 0; run < 11; ++run) {
            double cpu0 = thread_cpu_ms();
            auto snapshot = copy();
            double cpu1 = thread_cpu_ms();
            auto text = render(snapshot);
            f.copy_cpu.push_back(cpu1 - cpu0);
            f.render_cpu.push_back(thread_cpu_ms() - cpu1);
            f.bytes = text.size();
        }
        std::sort(f.copy_cpu.begin(), f.copy_cpu.end());
        std::sort(f.render_cpu.begin(), f.render_cpu.end());
        return f;
    };
    auto print = [&](const char* what, const figures& f) {
        std::printf(
            "%s of %zu real servers: loop (copy) median %.1f ms, max %.1f ms; worker (render) "
            "median %.1f ms, max %.1f ms; %.1f MB (thread CPU time)\n",
            what, checked.size(), f.copy_cpu[f.copy_cpu.size() / 2], f.copy_cpu.back(),
            f.render_cpu[f.render_cpu.size() / 2], f.render_cpu.back(),
            static_cast<double>(f.bytes) / 1e6);
    };
    print("metrics scrape", measure(
                                [&] {
                                    metrics::scrape_inputs in;
                                    in.daemon.version = "bench";
                                    in.real_servers = checked;  // health_monitor::status()
                                    in.checker = checkers::health_monitor::counters{};
                                    in.ipvs = metrics::ipvs_facts::of(reconciler);
                                    return in;
                                },
                                [](const metrics::scrape_inputs& in) {
                                    metrics::exposition out;
                                    write_scrape(out, in);
                                    return out.take();
                                }));
    print("status", measure(
                        [&] {
                            status_snapshot snapshot;
                            snapshot.daemon.version = "bench";
                            snapshot.real_servers = checked;  // health_monitor::status()
                            snapshot.ipvs = reconciler.status();
                            return snapshot;
                        },
                        [](const status_snapshot& snapshot) { return render_status(snapshot); }));
    return 0;
}
