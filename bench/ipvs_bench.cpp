// Runs INSIDE the IPVS guest (bench/ipvs_bench.sh boots it): the time vigil's reconciler takes to
// apply 10,000 destinations (100 services x 100) to an empty kernel table, to reconcile that table
// when nothing changed, and to apply a 1% change, beside `ipvsadm -R` restoring the same table in
// the same guest; and what one real server going down among the 10,000 costs (operations sent,
// dumps, time from set_health to the kernel's answer). Under TCG only the ratios mean anything.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "counting_backend.hpp"

#include "ipvs/desired.hpp"
#include "ipvs/diff.hpp"
#include "ipvs/netlink_backend.hpp"
#include "ipvs/reconciler.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using vigil::ipvs::bench::counting_backend;
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

// The table as the specs that program it: one virtual server per service, one real server per
// destination, all up.
std::vector<virtual_server_spec> specs_of(const table& t) {
    std::vector<virtual_server_spec> out;
    for (const auto& [key, e] : t) {
        virtual_server_spec vs;
        vs.name = to_string(key);
        vs.settings = e.settings;
        vs.quorum = 0;
        for (const auto& [address, d] : e.destinations) {
            vs.real_servers.push_back({vs.name + "/" + to_string(address), address, d.weight,
                                       d.upper_threshold, d.lower_threshold, d.forward});
        }
        out.push_back(std::move(vs));
    }
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
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
    auto opened = netlink_backend::open(
        {.per_message = std::chrono::seconds(2), .per_call = std::chrono::seconds(60)});
    if (!opened.backend) {
        std::cerr << opened.error << "\n";
        return 1;
    }
    auto& netlink = *opened.backend;
    counting_backend kernel(netlink);
    auto want = big_table();
    auto want_specs = specs_of(want);
    write_rules(want, "/tmp/rules");
    boost::asio::io_context io;
    steady_clock_source clock(io.get_executor());
    event_log log(make_fd_sink(2, log_format::text), log_level::warning);

    double best_apply = 1e18, best_noop = 1e18, best_change = 1e18, best_restore = 1e18;
    double best_sequential = 1e18;
    std::vector<double> single_change;
    std::size_t single_operations = 0, single_dumps = 0, single_changes = 0;
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
    // The kernel calls run inline (on this thread), so the times below are the kernel's;
    // bench/ipvs_loop_stall_bench measures what the worker thread spares the loop.
    backend_worker worker(kernel, io.get_executor(), backend_worker::threading::inline_calls);
    auto settle = [&] {
        io.restart();
        io.poll();
    };
    auto sync = [&](reconciler& r) {
        std::optional<sync_report> report;
        r.sync_now("manual", [&](const sync_report& done) { report = done; });
        settle();
        return report.value_or(sync_report{});
    };
    auto time_vigil = [&]() -> bool {
        flush();
        reconciler_spec settings;
        // The single changes below come faster than any storm cap would let them through.
        settings.incremental_burst = 1'000'000;
        reconciler r(clock, worker, log, settings);
        r.set_specs(want_specs);
        r.start();
        auto t0 = clock_type::now();
        auto report = sync(r);
        double apply = ms_since(t0);
        if (report.failed != 0 || report.operations != services * (per_service + 1)) {
            std::cerr << "apply: " << report.operations << " operations, " << report.failed
                      << " failed\n";
            return false;
        }
        best_apply = std::min(best_apply, apply);
        std::printf("round: vigil apply %.1f ms\n", apply);

        t0 = clock_type::now();
        report = sync(r);
        double noop = ms_since(t0);
        if (report.operations != 0) {
            std::cerr << "no-op reconcile found " << report.operations << " operations\n";
            return false;
        }
        best_noop = std::min(best_noop, noop);

        // One real server down among the 10,000, then up again: one operation each, no dump.
        for (int trial = 0; trial < 20; ++trial) {
            const auto& vs = want_specs[static_cast<std::size_t>(trial * 37 % services)];
            const auto& rs = vs.real_servers[static_cast<std::size_t>(trial * 53 % per_service)];
            for (bool up : {false, true}) {
                kernel.reset();
                t0 = clock_type::now();
                r.set_health(rs.name, {up, {}});
                single_change.push_back(ms_since(t0));
                settle();
                single_operations += kernel.operations;
                single_dumps += kernel.dumps;
                ++single_changes;
            }
        }

        auto changed = want;
        int n = 0;
        for (auto& [key, e] : changed) {
            e.destinations.begin()->second.weight = 5;  // 1 of 100 per service: 1%
            ++n;
        }
        r.set_specs(specs_of(changed));
        t0 = clock_type::now();
        report = sync(r);
        double change = ms_since(t0);
        if (report.operations != static_cast<std::size_t>(n) || report.failed != 0) {
            std::cerr << "1% change: " << report.operations << " operations\n";
            return false;
        }
        best_change = std::min(best_change, change);

        // The same apply with one command in flight at a time, to show what batching buys.
        flush();
        netlink.set_window(1);
        r.set_specs(want_specs);
        t0 = clock_type::now();
        sync(r);
        best_sequential = std::min(best_sequential, ms_since(t0));
        netlink.set_window(64);
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
    std::sort(single_change.begin(), single_change.end());
    std::printf(
        "RESULT vigil_single_change_median_ms=%.2f p99_ms=%.2f best_ms=%.2f "
        "operations_per_change=%.2f dumps=%zu (%zu changes)\n",
        median(single_change),
        single_change[static_cast<std::size_t>(0.99 *
                                               static_cast<double>(single_change.size() - 1))],
        single_change.front(),
        static_cast<double>(single_operations) / static_cast<double>(single_changes), single_dumps,
        single_changes);
    bool ok = best_apply <= best_restore / 2;
    std::printf("TARGET apply <= 0.5 x ipvsadm -R: %s\n", ok ? "met" : "NOT met");
    return ok ? 0 : 3;
}
