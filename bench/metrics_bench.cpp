// Builds the /metrics exposition for 10,000 checked real servers (100 virtual servers of 100, in a
// synced memory-backend reconciler) and prints how long one scrape keeps the loop busy: gathering
// the inputs (the copies the daemon makes) and writing the text.
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
            s.checked = true;
            for (int i = 0; i < 20; ++i) {
                auto result = checkers::probe_result::ok();
                result.latency = std::chrono::milliseconds(i * 37 % 700);
                s.counts.add(result);
                s.last = result;
            }
            checked.push_back(std::move(s));
        }
        specs.push_back(std::move(vs));
    }
    reconciler.set_specs(std::move(specs));
    reconciler.start();
    reconciler.sync_now("startup");
    io.poll();

    std::vector<double> times;
    std::vector<double> cpu_times;
    std::size_t bytes = 0;
    for (int run = 0; run < 11; ++run) {
        auto t0 = std::chrono::steady_clock::now();
        double cpu0 = thread_cpu_ms();
        metrics::scrape_inputs in;
        in.daemon.version = "bench";
        in.real_servers = checked;  // the daemon copies health_monitor::status()
        in.checker = checkers::health_monitor::counters{};
        in.reconciler = &reconciler;
        metrics::exposition out;
        write_scrape(out, in);
        auto body = out.take();
        auto t1 = std::chrono::steady_clock::now();
        cpu_times.push_back(thread_cpu_ms() - cpu0);
        bytes = body.size();
        times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(times.begin(), times.end());
    std::sort(cpu_times.begin(), cpu_times.end());
    std::printf(
        "metrics scrape of %zu real servers: median %.1f ms (CPU %.1f ms), max %.1f ms "
        "(CPU %.1f ms), body %.1f MB\n",
        checked.size(), times[times.size() / 2], cpu_times[cpu_times.size() / 2], times.back(),
        cpu_times.back(), static_cast<double>(bytes) / 1e6);
    return 0;
}
