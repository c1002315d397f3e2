// Runs INSIDE the IPVS guest (bench/ipvs_bench.sh boots it): the time vigil's reconciler takes to
// apply 10,000 destinations (100 services x 100) to an empty kernel table, to reconcile that table
// when nothing changed, and to apply a 1% change, beside `ipvsadm -R` restoring the same table in
// the same guest. Under TCG only the ratios mean anything.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "ipvs/desired.hpp"
#include "ipvs/diff.hpp"
#include "ipvs/netlink_backend.hpp"
#include "ipvs/reconciler.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int services = 100;
constexpr int per_service = 100;

std::string service_address(int s) {
    return "10.100." + std::to_string(s / 250) + "." + std::to_string(s % 250 + 1);
}
std::string dest_address(int s, int d) {
    return "10.101." + std::to_string(s) + "." + std::to_string(d + 1);
}

table big_table() {
    table t;
    for (int s = 0; s < services; ++s) {
        service_options o;
        o.sched = scheduler::wrr;
        auto svc = make_service(
            service_key::for_address(protocol::tcp, *parse_endpoint(service_address(s) + ":80")),
            o);
        auto& e = t[svc.key];
        e.settings = svc;
        for (int d = 0; d < per_service; ++d) {
            destination dest;
            dest.address = *parse_endpoint(dest_address(s, d) + ":8080");
            dest.weight = 1;
            e.destinations[dest.address] = dest;
        }
    }
    return t;
}

// The same table as ipvsadm's restore format (what `ipvsadm -S -n` prints).
void write_rules(const table& t, const char* path) {
    std::ofstream out(path);
    for (const auto& [key, e] : t) {
        auto vs = to_string(ip_endpoint{key.address, key.port});
        out << "-A -t " << vs << " -s " << e.settings.scheduler << "\n";
        for (const auto& [address, d] : e.destinations) {
            out << "-a -t " << vs << " -r " << to_string(address) << " -m -w " << d.weight << "\n";
        }
    }
}

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

void flush() {
    if (std::system("ipvsadm -C") != 0) {
        std::cerr << "ipvsadm -C failed\n";
        std::exit(1);
    }
}

std::size_t destinations_in_kernel(backend& b) {
    auto t = b.dump();
    std::size_t n = 0;
    for (const auto& [key, e] : *t) {
        n += e.destinations.size();
    }
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = argc > 1 ? std::atoi(argv[1]) : 2;
    auto opened = netlink_backend::open();
    if (!opened.backend) {
        std::cerr << opened.error << "\n";
        return 1;
    }
    auto& kernel = *opened.backend;
    auto want = big_table();
    write_rules(want, "/tmp/rules");
    boost::asio::io_context io;
    event_log log(make_fd_sink(2, log_format::text), log_level::warning);

    double best_apply = 1e18, best_noop = 1e18, best_change = 1e18, best_restore = 1e18;
    double best_sequential = 1e18;
    // Rounds alternate who goes first: a flushed table leaves its destinations in the kernel's
    // trash list for a while, which every later add scans, so neither side always gets the clean
    // kernel.
    auto time_restore = [&]() -> bool {
        flush();
        auto t0 = clock_type::now();
        if (std::system("ipvsadm -R < /tmp/rules") != 0) {
            std::cerr << "ipvsadm -R failed\n";
            return false;
        }
        double restore = ms_since(t0);
        if (destinations_in_kernel(kernel) != services * per_service) {
            std::cerr << "ipvsadm -R left an incomplete table\n";
            return false;
        }
        best_restore = std::min(best_restore, restore);
        std::printf("round: ipvsadm -R %.1f ms\n", restore);
        return true;
    };
    auto time_vigil = [&]() -> bool {
        flush();
        reconciler r(io.get_executor(), kernel, log, reconciler_settings{});
        r.start();
        r.set_desired(want);
        auto t0 = clock_type::now();
        auto report = r.sync_now();
        double apply = ms_since(t0);
        if (report.failed != 0 || report.operations != services * (per_service + 1)) {
            std::cerr << "apply: " << report.operations << " operations, " << report.failed
                      << " failed\n";
            return false;
        }
        best_apply = std::min(best_apply, apply);
        std::printf("round: vigil apply %.1f ms\n", apply);

        t0 = clock_type::now();
        report = r.sync_now();
        double noop = ms_since(t0);
        if (report.operations != 0) {
            std::cerr << "no-op reconcile found " << report.operations << " operations\n";
            return false;
        }
        best_noop = std::min(best_noop, noop);

        auto changed = want;
        int n = 0;
        for (auto& [key, e] : changed) {
            e.destinations.begin()->second.weight = 5;  // 1 of 100 per service: 1%
            ++n;
        }
        r.set_desired(changed);
        t0 = clock_type::now();
        report = r.sync_now();
        double change = ms_since(t0);
        if (report.operations != static_cast<std::size_t>(n) || report.failed != 0) {
            std::cerr << "1% change: " << report.operations << " operations\n";
            return false;
        }
        best_change = std::min(best_change, change);

        // The same apply with one command in flight at a time, to show what batching buys.
        flush();
        kernel.set_window(1);
        r.set_desired(want);
        t0 = clock_type::now();
        r.sync_now();
        best_sequential = std::min(best_sequential, ms_since(t0));
        kernel.set_window(64);
        return true;
    };
    for (int round = 0; round < rounds; ++round) {
        bool ok = round % 2 == 0 ? time_restore() && time_vigil() : time_vigil() && time_restore();
        if (!ok) {
            return 1;
        }
    }
    flush();
    std::printf("ipvs_bench: %d services x %d destinations, best of %d rounds (TCG guest)\n",
                services, per_service, rounds);
    std::printf("RESULT ipvsadm_restore_ms=%.1f\n", best_restore);
    std::printf("RESULT vigil_apply_from_empty_ms=%.1f ratio_to_ipvsadm=%.3f\n", best_apply,
                best_apply / best_restore);
    std::printf("RESULT vigil_apply_unpipelined_ms=%.1f ratio_to_ipvsadm=%.3f\n", best_sequential,
                best_sequential / best_restore);
    std::printf("RESULT vigil_noop_reconcile_ms=%.1f\n", best_noop);
    std::printf("RESULT vigil_one_percent_change_ms=%.1f (%d destination edits)\n", best_change,
                services);
    bool ok = best_apply <= best_restore / 2;
    std::printf("TARGET apply <= 0.5 x ipvsadm -R: %s\n", ok ? "met" : "NOT met");
    return ok ? 0 : 3;
}
