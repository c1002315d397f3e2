// Runs inside the qemu guest (tests/ipvs-vm/run-suite.sh), as root, against Debian's real IPVS:
// the netlink backend applies tables and `ipvsadm` (which reads the kernel on its own) must show
// exactly them; drift made with ipvsadm is repaired; foreign services are left alone; the sync
// daemon follows the VRRP role; the memory backend answers a replayed operation sequence exactly
// as the kernel does; and client traffic really crosses a NAT virtual server vigil programmed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <random>
#include <thread>

#include "guest_support.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/diff.hpp"
#include "ipvs/memory_backend.hpp"
#include "ipvs/netlink_backend.hpp"
#include "ipvs/reconciler.hpp"
#include "ipvs/state_file.hpp"
#include "ipvs/status.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::guest;
using namespace std::chrono_literals;

namespace {

// The guest runs under TCG, many times slower than real hardware, and some tests send batches
// the kernel is slow to answer: each command naming a scheduler without a module makes it run
// modprobe. 1,500 such commands outlast the default per-call bound there, so tests of behaviour
// get bounds TCG meets; the default bounds have a test of their own (10,000 destinations).
constexpr netlink_limits emulated_limits{.per_message = std::chrono::milliseconds(2000),
                                         .per_call = std::chrono::milliseconds(60000)};

std::unique_ptr<netlink_backend> open_kernel(netlink_limits limits = emulated_limits) {
    auto opened = netlink_backend::open(limits);
    INFO(opened.error);
    REQUIRE(opened.backend);
    return std::move(opened.backend);
}

void flush() {
    REQUIRE(run("ipvsadm -C").status == 0);
}

struct harness {
    boost::asio::io_context io;
    steady_clock_source clock{io.get_executor()};
    std::unique_ptr<netlink_backend> kernel = open_kernel();
    memory_sink* sink = nullptr;
    event_log log{make_sink(sink), log_level::debug};
    std::filesystem::path state = "/tmp/vigil-state/ipvs-owned";
    // As the daemon runs it: every kernel call on the worker's thread, answers on `io`.
    backend_worker worker{*kernel, io.get_executor()};
    // The test's own look at the kernel, on its own socket: `kernel` belongs to the worker.
    std::unique_ptr<netlink_backend> observer = open_kernel();

    static std::unique_ptr<log_sink> make_sink(memory_sink*& out) {
        auto s = std::make_unique<memory_sink>();
        out = s.get();
        return s;
    }
    reconciler_spec settings() const {
        reconciler_spec s;
        s.state_file = state;
        s.min_sync_interval = 1ms;
        s.resync_interval = 0ms;
        return s;
    }
    // Runs the loop until every request `r` sent has been answered.
    void wait(const reconciler& r) {
        auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(300);
        while ((r.in_flight() > 0 || r.shutting_down()) &&
               std::chrono::steady_clock::now() < give_up) {
            io.restart();
            io.run_for(std::chrono::milliseconds(5));
        }
        REQUIRE(r.in_flight() == 0);
    }
    // One full sync, run to its report (and whatever it sent after: the state file, daemons).
    sync_report sync(reconciler& r, const char* reason = "manual") {
        std::optional<sync_report> report;
        r.sync_now(reason, [&](const sync_report& done) { report = done; });
        wait(r);
        REQUIRE(report);
        return *report;
    }
    void dump_log() const {
        for (const auto& line : sink->lines()) {
            MESSAGE(line);
        }
    }
};

service svc(protocol p, const std::string& address, scheduler s, service_options o = {}) {
    o.sched = s;
    return make_service(service_key::for_address(p, ep(address)), o);
}

service mark_svc(std::uint32_t mark, address_family f, scheduler s, service_options o = {}) {
    o.sched = s;
    return make_service(service_key::for_fwmark(mark, f), o);
}

destination dest(const std::string& address, std::uint32_t weight,
                 forward_method forward = forward_method::masq, std::uint32_t upper = 0,
                 std::uint32_t lower = 0) {
    destination d;
    d.address = ep(address);
    d.weight = weight;
    d.forward = forward;
    d.upper_threshold = upper;
    d.lower_threshold = lower;
    return d;
}

void put(table& t, const service& s, std::initializer_list<destination> dests) {
    auto& e = t[s.key];
    e.settings = s;
    for (const auto& d : dests) {
        e.destinations[d.address] = d;
    }
}

// A table as the specs that program it: one virtual server per service, one real server per
// destination (with its own forwarding method), all up; quorum 0, so no quorum rule interferes.
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

// Every feature of the model at once: protocols, families, fwmark, all forwarding methods,
// weights 0..65535, thresholds, persistence with netmasks, one-packet and scheduler flags.
table feature_table() {
    table t;
    put(t, svc(protocol::tcp, "10.10.0.1:80", scheduler::wlc),
        {dest("10.20.0.1:8080", 3), dest("10.20.0.2:80", 0, forward_method::route),
         dest("10.20.0.3:80", 65535, forward_method::tunnel, 100, 10)});
    service_options one_packet;
    one_packet.one_packet = true;
    put(t, svc(protocol::udp, "10.10.0.1:53", scheduler::rr, one_packet),
        {dest("10.20.0.4:5353", 1)});
    service_options sh_flags;
    sh_flags.sched_flag_1 = true;
    sh_flags.sched_flag_2 = true;
    put(t, svc(protocol::sctp, "10.10.0.2:3868", scheduler::sh, sh_flags),
        {dest("10.20.0.5:3868", 2, forward_method::route)});
    service_options sticky;
    sticky.persistence_timeout = 300;
    sticky.persistence_netmask = 24;
    put(t, svc(protocol::tcp, "10.10.0.3:443", scheduler::wrr, sticky),
        {dest("10.20.0.6:443", 5), dest("10.20.0.7:443", 7, forward_method::masq, 50, 0)});
    service_options sticky6;
    sticky6.persistence_timeout = 600;
    sticky6.persistence_netmask = 64;
    put(t, svc(protocol::tcp, "[fd00:10::1]:80", scheduler::lc, sticky6),
        {dest("[fd00:20::1]:80", 1), dest("[fd00:20::2]:8080", 2)});
    put(t, svc(protocol::udp, "[fd00:10::1]:53", scheduler::sed),
        {dest("[fd00:20::3]:53", 4, forward_method::route)});
    put(t, mark_svc(7, address_family::ipv4, scheduler::rr),
        {dest("10.20.0.8:80", 1), dest("10.20.0.9:80", 1, forward_method::tunnel)});
    service_options mh_flags;
    mh_flags.sched_flag_1 = true;
    mh_flags.persistence_timeout = 60;
    put(t, mark_svc(8, address_family::ipv6, scheduler::mh, mh_flags),
        {dest("[fd00:20::4]:0", 9, forward_method::route)});
    // One service per remaining scheduler: their names must reach the kernel's modules.
    int port = 9000;
    for (auto s : {scheduler::lblc, scheduler::lblcr, scheduler::dh, scheduler::nq, scheduler::fo,
                   scheduler::ovf}) {
        put(t, svc(protocol::tcp, "10.10.0.9:" + std::to_string(port++), s),
            {dest("10.20.1.1:80", 1)});
    }
    return t;
}

}  // namespace

TEST_CASE("the netlink backend opens and reads the kernel's IPVS version") {
    auto kernel = open_kernel();
    auto info = kernel->info();
    REQUIRE(info.has_value());
    CHECK(netlink_backend::version_string(info->version) == "1.2.1");
    CHECK(info->connection_table_size == 4096);
    CHECK(run("ipvsadm -Ln").output.find("IP Virtual Server version 1.2.1 (size=4096)") !=
          std::string::npos);
}

TEST_CASE("every feature applied through netlink reads back equal, and ipvsadm shows it") {
    flush();
    harness h;
    reconciler r(h.clock, h.worker, h.log, h.settings());
    r.start();
    auto want = feature_table();
    r.set_specs(specs_of(want));
    auto report = h.sync(r);
    h.dump_log();
    REQUIRE(report.dump_ok);
    CHECK(report.failed == 0);
    auto dumped = h.observer->dump();
    REQUIRE(dumped.has_value());
    CHECK(diff(want, *dumped, {}).empty());
    CHECK(dumped->size() == want.size());

    auto ours = collapsed_lines(format_ipvsadm(*dumped));
    auto theirs = ipvsadm_table("-Ln");
    CHECK(ours == theirs);
    if (ours != theirs) {
        MESSAGE("vigil:\n" << ours << "ipvsadm -Ln:\n" << theirs);
    }
    auto ours_t = collapsed_lines(format_ipvsadm(*dumped, true));
    auto theirs_t = ipvsadm_table("-Ln --thresholds");
    CHECK(ours_t == theirs_t);
    // And what was wanted (not only what was read back) is what ipvsadm shows.
    CHECK(collapsed_lines(format_ipvsadm(want)) == theirs);

    CHECK(h.sync(r).operations == 0);  // applied once, nothing left to do
}

TEST_CASE("settings change in place: edits, not delete and re-add") {
    flush();
    harness h;
    reconciler r(h.clock, h.worker, h.log, h.settings());
    r.start();
    auto want = feature_table();
    r.set_specs(specs_of(want));
    REQUIRE(h.sync(r).failed == 0);
    auto key = service_key::for_address(protocol::tcp, ep("10.10.0.1:80"));
    auto& e = want[key];
    e.settings.scheduler = "wrr";
    e.settings.flags = service_flags::persistent;
    e.settings.timeout = 120;
    e.destinations.at(ep("10.20.0.1:8080")).weight = 10;
    e.destinations.at(ep("10.20.0.2:80")).forward = forward_method::masq;
    auto ops = diff(want, *h.observer->dump(), {});
    CHECK(ops.size() == 3);
    for (const auto& op : ops) {
        CHECK((op.kind == op_kind::edit_service || op.kind == op_kind::edit_destination));
    }
    r.set_specs(specs_of(want));
    auto report = h.sync(r);
    CHECK(report.operations == 3);
    CHECK(report.failed == 0);
    CHECK(diff(want, *h.observer->dump(), {}).empty());
    CHECK(collapsed_lines(format_ipvsadm(want)) == ipvsadm_table("-Ln"));
}

TEST_CASE("tampering with ipvsadm is repaired by the next sync; a foreign service stays") {
    flush();
    harness h;
    // Someone else's service, made before vigil starts.
    REQUIRE(run("ipvsadm -A -t 10.99.0.1:443 -s rr -p 30").status == 0);
    REQUIRE(run("ipvsadm -a -t 10.99.0.1:443 -r 10.99.1.1:443 -m -w 4").status == 0);
    auto foreign_before = ipvsadm_table("-Ln");

    auto s = h.settings();
    s.remove_on_shutdown = true;
    reconciler r(h.clock, h.worker, h.log, s);
    r.start();
    auto want = feature_table();
    r.set_specs(specs_of(want));
    REQUIRE(h.sync(r).failed == 0);

    REQUIRE(run("ipvsadm -d -t 10.10.0.1:80 -r 10.20.0.1:8080").status == 0);
    REQUIRE(run("ipvsadm -e -t 10.10.0.3:443 -r 10.20.0.6:443 -m -w 99").status == 0);
    REQUIRE(run("ipvsadm -D -u 10.10.0.1:53").status == 0);
    REQUIRE(run("ipvsadm -E -t 10.10.0.3:443 -s rr -p 300 -M 255.255.255.0").status == 0);
    REQUIRE(run("ipvsadm -a -t 10.10.0.1:80 -r 10.20.9.9:80 -m").status == 0);
    CHECK_FALSE(diff(want, *h.observer->dump(), {}).empty());

    auto report = h.sync(r, "resync");
    // delete the stray destination, re-add one, edit one, re-add the service and its
    // destination, edit the scheduler back
    CHECK(report.operations == 6);
    CHECK(report.failed == 0);
    auto dumped = *h.observer->dump();
    CHECK(diff(want, dumped, {}).empty());
    auto foreign = service_key::for_address(protocol::tcp, ep("10.99.0.1:443"));
    REQUIRE(dumped.contains(foreign));
    CHECK(dumped.at(foreign).settings.timeout == 30);
    CHECK(dumped.at(foreign).destinations.at(ep("10.99.1.1:443")).weight == 4);

    // Shutdown removing vigil's services still leaves the foreign one exactly as it was.
    r.shutdown();
    h.wait(r);
    CHECK(ipvsadm_table("-Ln") == foreign_before);
}

TEST_CASE("the periodic resync on the event loop repairs ipvsadm -d by itself") {
    flush();
    harness h;
    auto s = h.settings();
    s.resync_interval = 200ms;
    reconciler r(h.clock, h.worker, h.log, s);
    r.start();
    auto want = feature_table();
    r.set_specs(specs_of(want));
    // The startup sync, its answers delivered by the loop (a loaded TCG guest can take a while).
    for (auto t0 = std::chrono::steady_clock::now();
         !r.last_report() && std::chrono::steady_clock::now() - t0 < 60s;) {
        h.io.run_for(10ms);
    }
    h.wait(r);
    REQUIRE(diff(want, *h.observer->dump(), {}).empty());
    REQUIRE(run("ipvsadm -d -t 10.10.0.1:80 -r 10.20.0.1:8080 && ipvsadm -D -f 7").status == 0);
    auto t0 = std::chrono::steady_clock::now();
    bool repaired = false;
    while (!repaired && std::chrono::steady_clock::now() - t0 < 5s) {
        h.io.run_for(50ms);
        repaired = diff(want, *h.observer->dump(), {}).empty();
    }
    CHECK(repaired);
    MESSAGE("repaired after " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - t0)
                                     .count()
                              << " ms");
    r.shutdown();
    h.wait(r);
}

TEST_CASE("a virtual server dropped from the config while vigil was down goes at next start") {
    flush();
    std::filesystem::remove_all("/tmp/vigil-state");
    auto all = feature_table();
    {
        harness h;
        reconciler r(h.clock, h.worker, h.log, h.settings());
        r.start();
        r.set_specs(specs_of(all));
        REQUIRE(h.sync(r).failed == 0);
        r.shutdown();  // default: the table stays, traffic keeps flowing
        h.wait(r);
        CHECK(h.observer->dump()->size() == all.size());
    }
    auto fewer = all;
    auto dropped = service_key::for_address(protocol::tcp, ep("10.10.0.3:443"));
    fewer.erase(dropped);
    harness h;
    reconciler r(h.clock, h.worker, h.log, h.settings());
    r.start();
    CHECK(r.owned().size() == all.size());
    r.set_specs(specs_of(fewer));
    auto report = h.sync(r);
    CHECK(report.operations == 1);  // one delete_service takes its destinations with it
    auto dumped = *h.observer->dump();
    CHECK_FALSE(dumped.contains(dropped));
    CHECK(diff(fewer, dumped, {}).empty());
    CHECK(load_owned(h.state)->size() == fewer.size());
}

TEST_CASE("the sync daemon follows the VRRP role and shows in ipvsadm -L --daemon") {
    flush();
    REQUIRE(run("ip2 link add vsync0 type veth peer name vsync1 && ip2 link set vsync0 up && "
                "ip2 link set vsync1 up")
                .status == 0);
    harness h;
    auto s = h.settings();
    s.sync_daemon_settings = sync_daemon{sync_role::master, "vsync0", 51, 0, {}, 0, 0};
    reconciler r(h.clock, h.worker, h.log, s);
    r.start();
    r.set_specs({});
    h.sync(r);
    CHECK(run("ipvsadm -L --daemon").output.empty());

    r.set_sync_mode(sync_mode::master);
    h.wait(r);
    auto shown = run("ipvsadm -L --daemon").output;
    CHECK(shown.find("master sync daemon (mcast=vsync0, syncid=51") != std::string::npos);
    CHECK(shown.find("backup") == std::string::npos);

    r.set_sync_mode(sync_mode::backup);
    h.wait(r);
    shown = run("ipvsadm -L --daemon").output;
    CHECK(shown.find("backup sync daemon (mcast=vsync0, syncid=51") != std::string::npos);
    CHECK(shown.find("master") == std::string::npos);
    auto listed = h.observer->daemons();
    REQUIRE(listed.has_value());
    REQUIRE(listed->size() == 1);
    CHECK(listed->front().role == sync_role::backup);
    CHECK(listed->front().interface == "vsync0");
    CHECK(listed->front().sync_id == 51);
    CHECK(listed->front().port == 8848);

    // Stopped by hand: the next sync starts it again.
    REQUIRE(run("ipvsadm --stop-daemon backup").status == 0);
    h.sync(r, "resync");
    CHECK(run("ipvsadm -L --daemon").output.find("backup sync daemon") != std::string::npos);

    r.shutdown();
    h.wait(r);
    CHECK(run("ipvsadm -L --daemon").output.empty());
    h.dump_log();
}

namespace {

// One sequence of operations, valid and invalid, that both backends must answer alike.
std::vector<operation> replay_sequence() {
    std::vector<operation> ops;
    auto add = [&](op_kind kind, const service& s, const destination& d = {}) {
        operation op;
        op.kind = kind;
        op.svc = s;
        op.dest = d;
        ops.push_back(op);
    };
    auto web = svc(protocol::tcp, "10.30.0.1:80", scheduler::wrr);
    auto dns = svc(protocol::udp, "[fd00:30::1]:53", scheduler::rr);
    auto mark = mark_svc(21, address_family::ipv4, scheduler::wlc);
    auto missing = svc(protocol::tcp, "10.30.0.9:80", scheduler::rr);
    auto nosched = web;
    nosched.key = service_key::for_address(protocol::tcp, ep("10.30.0.2:80"));
    nosched.scheduler = "nosuch";
    auto badmask = dns;
    badmask.key = service_key::for_address(protocol::udp, ep("[fd00:30::2]:53"));
    badmask.netmask = 129;

    add(op_kind::add_service, web);
    add(op_kind::add_service, web);      // EEXIST
    add(op_kind::add_service, nosched);  // ENOENT: no such scheduler module
    add(op_kind::add_service, badmask);  // EINVAL
    add(op_kind::add_service, dns);
    add(op_kind::add_service, mark);
    add(op_kind::edit_service, missing);    // ESRCH
    add(op_kind::delete_service, missing);  // ESRCH
    auto renamed = web;
    renamed.scheduler = "nosuch";
    add(op_kind::edit_service, renamed);  // ENOENT
    auto sticky = web;
    sticky.flags = service_flags::persistent;
    sticky.timeout = 90;
    sticky.netmask = 16;
    add(op_kind::edit_service, sticky);
    add(op_kind::add_destination, web, dest("10.31.0.1:80", 3));
    add(op_kind::add_destination, web, dest("10.31.0.1:80", 3));      // EEXIST
    add(op_kind::add_destination, missing, dest("10.31.0.1:80", 3));  // ESRCH
    add(op_kind::edit_destination, web, dest("10.31.0.2:80", 1));     // ENOENT
    add(op_kind::delete_destination, web, dest("10.31.0.2:80", 1));   // ENOENT
    add(op_kind::add_destination, web, dest("10.31.0.3:80", 1, forward_method::masq, 0, 5));
    add(op_kind::add_destination, web, dest("10.31.0.4:80", 1, forward_method::masq, 5, 10));
    add(op_kind::add_destination, web, dest("10.31.0.5:80", 0x80000000U));  // ERANGE
    add(op_kind::add_destination, web, dest("[fd00:31::1]:80", 1));         // EINVAL: mixed family
    add(op_kind::add_destination, web, dest("[fd00:31::1]:80", 1, forward_method::tunnel));
    add(op_kind::add_destination, web, dest("10.31.0.6:80", 2, forward_method::route, 10, 5));
    add(op_kind::edit_destination, web, dest("10.31.0.1:80", 7, forward_method::tunnel));
    add(op_kind::edit_destination, web, dest("10.31.0.6:80", 2, forward_method::route, 1, 5));
    add(op_kind::add_destination, dns, dest("[fd00:31::2]:53", 1));
    add(op_kind::add_destination, mark, dest("10.31.0.7:0", 1, forward_method::route));
    add(op_kind::delete_destination, web, dest("10.31.0.1:80", 0));
    add(op_kind::delete_service, dns);
    add(op_kind::add_destination, dns, dest("[fd00:31::2]:53", 1));  // ESRCH again
    return ops;
}

// The comparable part of a table: settings and destinations, no counters.
std::string settings_of(const table& t) {
    return format_ipvsadm(t) + "--thresholds--\n" + format_ipvsadm(t, true);
}

}  // namespace

TEST_CASE("the memory backend answers a replayed sequence exactly as the kernel does") {
    flush();
    auto kernel = open_kernel();
    memory_backend memory;
    auto ops = replay_sequence();
    auto from_kernel = kernel->apply(ops);
    auto from_memory = memory.apply(ops);
    REQUIRE(from_kernel.size() == ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        INFO(i << ": " << describe(ops[i]));
        CHECK(from_kernel[i].value() == from_memory[i].value());
        if (from_kernel[i].value() != from_memory[i].value()) {
            MESSAGE("kernel: " << from_kernel[i].message()
                               << ", memory: " << from_memory[i].message());
        }
    }
    auto k = kernel->dump();
    auto m = memory.dump();
    REQUIRE(k.has_value());
    REQUIRE(m.has_value());
    CHECK(settings_of(*k) == settings_of(*m));
    CHECK(diff(*m, *k, {}).empty());
    // Flags as stored, hashed bit included.
    for (const auto& [key, entry] : *k) {
        CHECK(entry.settings.flags == m->at(key).settings.flags);
    }

    // Daemons: starting a running role, stopping a stopped one.
    REQUIRE(run("ip link show vsync0 >/dev/null || (ip2 link add vsync0 type veth peer name "
                "vsync1 && ip2 link set vsync0 up)")
                .status == 0);
    sync_daemon d{sync_role::master, "vsync0", 9, 0, {}, 0, 0};
    // The sync protocol cannot carry the IPv6 tunnel destination of the IPv4 service: EINVAL.
    CHECK(kernel->start_daemon(d).value() == EINVAL);
    CHECK(memory.start_daemon(d).value() == EINVAL);
    operation drop;
    drop.kind = op_kind::delete_destination;
    drop.svc = svc(protocol::tcp, "10.30.0.1:80", scheduler::wrr);
    drop.dest = dest("[fd00:31::1]:80", 1, forward_method::tunnel);
    std::vector<operation> more{drop};
    CHECK(kernel->apply(more)[0].value() == memory.apply(more)[0].value());
    CHECK(kernel->start_daemon(d).value() == memory.start_daemon(d).value());
    CHECK(kernel->start_daemon(d).value() == memory.start_daemon(d).value());
    // With a daemon running, a mixed-family destination is refused even by tunnel.
    more[0].kind = op_kind::add_destination;
    CHECK(kernel->apply(more)[0].value() == EINVAL);
    CHECK(memory.apply(more)[0].value() == EINVAL);
    CHECK(kernel->stop_daemon(sync_role::backup).value() ==
          memory.stop_daemon(sync_role::backup).value());
    // Stopping a master thread that has not run yet reports the thread's own status (kthread_stop)
    // although the daemon is gone; give it time to start, as any real stop would.
    std::this_thread::sleep_for(300ms);
    CHECK(kernel->stop_daemon(sync_role::master).value() ==
          memory.stop_daemon(sync_role::master).value());
    CHECK(kernel->stop_daemon(sync_role::master).value() ==
          memory.stop_daemon(sync_role::master).value());
}

TEST_CASE("random operation sequences, valid and not, get the same answers from both backends") {
    flush();
    auto kernel = open_kernel();
    memory_backend memory;
    std::mt19937 random(20261121);
    auto pick = [&](auto const& choices) {
        return choices[std::uniform_int_distribution<std::size_t>(0, choices.size() - 1)(random)];
    };
    const std::vector<service_key> keys{
        service_key::for_address(protocol::tcp, ep("10.40.0.1:80")),
        service_key::for_address(protocol::udp, ep("10.40.0.1:80")),
        service_key::for_address(protocol::sctp, ep("10.40.0.2:80")),
        service_key::for_address(protocol::tcp, ep("[fd00:40::1]:443")),
        service_key::for_fwmark(40, address_family::ipv4),
        service_key::for_fwmark(41, address_family::ipv6)};
    const std::vector<std::string> schedulers{"rr", "wrr",  "wlc",    "sh",
                                              "mh", "lblc", "nosuch", "twos"};
    const std::vector<std::string> addresses{"10.41.0.1:80", "10.41.0.2:80", "10.41.0.2:81",
                                             "[fd00:41::1]:80", "[fd00:41::2]:0"};
    const std::vector<std::uint32_t> weights{0, 1, 1, 7, 65535, 0x7fffffffU, 0x80000000U};
    const std::vector<std::uint32_t> uppers{0, 0, 5, 10};
    const std::vector<std::uint32_t> lowers{0, 0, 0, 5};
    const std::vector<forward_method> methods{forward_method::masq, forward_method::route,
                                              forward_method::tunnel};
    const std::vector<op_kind> kinds{op_kind::add_service,      op_kind::edit_service,
                                     op_kind::delete_service,   op_kind::add_destination,
                                     op_kind::add_destination,  op_kind::edit_destination,
                                     op_kind::edit_destination, op_kind::delete_destination};
    std::vector<operation> ops;
    for (int i = 0; i < 1500; ++i) {
        operation op;
        op.kind = pick(kinds);
        op.svc.key = pick(keys);
        op.svc.scheduler = pick(schedulers);
        op.svc.netmask = op.svc.key.family == address_family::ipv4
                             ? std::uniform_int_distribution<unsigned>(0, 32)(random)
                             : std::uniform_int_distribution<unsigned>(0, 130)(random);
        op.svc.flags = std::uniform_int_distribution<std::uint32_t>(0, 0x3f)(random) &
                       service_flags::user_mask;
        op.svc.timeout = op.svc.flags & service_flags::persistent ? 300 : 0;
        op.dest.address = ep(pick(addresses));
        op.dest.weight = pick(weights);
        op.dest.forward = pick(methods);
        op.dest.upper_threshold = pick(uppers);
        op.dest.lower_threshold = pick(lowers);
        ops.push_back(op);
    }
    auto from_kernel = kernel->apply(ops);
    auto from_memory = memory.apply(ops);
    std::size_t failures = 0;
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
        failures += from_kernel[i] ? 1U : 0U;
        if (from_kernel[i].value() != from_memory[i].value() && ++mismatches <= 10) {
            MESSAGE(i << ": " << describe(ops[i]) << ": kernel " << from_kernel[i].value()
                      << ", memory " << from_memory[i].value());
        }
    }
    CHECK(mismatches == 0);
    MESSAGE(ops.size() << " operations, " << failures << " refused by the kernel");
    CHECK(failures > 300);               // the sequence exercises the error paths...
    CHECK(ops.size() - failures > 150);  // ...and the successful ones
    auto k = kernel->dump();
    auto m = memory.dump();
    REQUIRE(k.has_value());
    REQUIRE(m.has_value());
    CHECK(settings_of(*k) == settings_of(*m));
    for (const auto& [key, entry] : *k) {
        REQUIRE(m->contains(key));
        CHECK(entry.settings.flags == m->at(key).settings.flags);
        CHECK(entry.settings.netmask == m->at(key).settings.netmask);
        CHECK(entry.settings.timeout == m->at(key).settings.timeout);
    }
    flush();
}

TEST_CASE("the reconciler's own sequences give the same table on both backends") {
    flush();
    auto kernel = open_kernel();
    memory_backend memory;
    auto replay = [&](const table& want) {
        auto from_kernel = *kernel->dump();
        auto from_memory = *memory.dump();
        CHECK(settings_of(from_kernel) == settings_of(from_memory));
        auto ops = diff(want, from_kernel, {});
        auto a = kernel->apply(ops);
        auto b = memory.apply(ops);
        for (std::size_t i = 0; i < ops.size(); ++i) {
            INFO(describe(ops[i]));
            CHECK(a[i].value() == b[i].value());
            CHECK_FALSE(a[i]);
        }
        CHECK(settings_of(*kernel->dump()) == settings_of(*memory.dump()));
        CHECK(diff(want, *kernel->dump(), {}).empty());
    };
    auto want = feature_table();
    replay(want);
    // Edits everywhere, a service dropped, destinations moved between forwarding methods.
    for (auto& [key, e] : want) {
        e.settings.scheduler = e.settings.scheduler == "rr" ? "wlc" : "rr";
        e.settings.flags &= ~(service_flags::sched_flag_1 | service_flags::sched_flag_2);
        for (auto& [address, d] : e.destinations) {
            d.weight += 1;
            d.forward =
                d.forward == forward_method::masq ? forward_method::route : forward_method::masq;
        }
    }
    want.erase(want.begin());
    replay(want);
    replay({});
}

TEST_CASE("client traffic crosses a NAT virtual server vigil programmed, and is counted") {
    flush();
    REQUIRE(run("sh /usr/local/bin/nat-lab.sh setup").status == 0);
    harness h;
    reconciler r(h.clock, h.worker, h.log, h.settings());
    r.start();
    virtual_server_spec vs;
    vs.name = "web";
    vs.settings = svc(protocol::tcp, "192.168.50.100:80", scheduler::rr);
    vs.method = forwarding::nat;
    vs.quorum = 2;
    vs.sorry_server = ep("10.0.1.2:8080");
    vs.real_servers = {{"web/10.0.1.2:80", ep("10.0.1.2:80"), 1, 0, 0},
                       {"web/10.0.1.6:80", ep("10.0.1.6:80"), 1, 0, 0}};
    r.set_specs({vs});
    REQUIRE(h.sync(r).failed == 0);

    auto traffic = run("sh /usr/local/bin/nat-lab.sh traffic 6");
    MESSAGE(traffic.output);
    CHECK(traffic.status == 0);
    CHECK(traffic.output.find("rs1=3 rs2=3 sorry=0") != std::string::npos);

    // rs1 fails: the healthy weight 1 is below the quorum 2, the sorry server takes over at once
    // (two real servers out, the sorry server in), with nothing left for a full sync.
    r.set_health("web/10.0.1.2:80", {false, {}});
    h.wait(r);
    auto lines = h.sink->lines();
    auto lost = std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
        return line.find("virtual_server.quorum_lost") != std::string::npos;
    });
    CHECK(lost == 1);
    CHECK(h.sync(r).operations == 0);
    traffic = run("sh /usr/local/bin/nat-lab.sh traffic 4");
    MESSAGE(traffic.output);
    CHECK(traffic.output.find("rs1=0 rs2=0 sorry=4") != std::string::npos);

    // The counters come through the dump (the kernel's estimator lags about 2 s: poll).
    std::uint64_t connections = 0;
    for (int i = 0; i < 50 && connections < 10; ++i) {
        auto dumped = h.observer->dump();
        REQUIRE(dumped.has_value());
        connections = dumped->at(vs.settings.key).settings.stats.connections;
        if (connections < 10) {
            std::this_thread::sleep_for(100ms);
        }
    }
    CHECK(connections == 10);
    auto dumped = *h.observer->dump();
    const auto& sorry = dumped.at(vs.settings.key).destinations.at(ep("10.0.1.2:8080"));
    CHECK(sorry.stats.connections == 4);
    CHECK(sorry.stats.in_packets > 0);
    CHECK(sorry.stats.out_bytes > 0);
    auto text = boost::json::serialize(r.status_json());
    MESSAGE(text);
    CHECK(text.find("\"quorum_up\":false") != std::string::npos);
    CHECK(text.find("\"sorry_server_active\":true") != std::string::npos);
    CHECK(text.find("\"in_sync\":true") != std::string::npos);

    // rs1 recovers: quorum regained, the real servers replace the sorry server.
    r.set_health("web/10.0.1.2:80", {true, {}});
    h.wait(r);
    CHECK(h.sync(r).operations == 0);
    traffic = run("sh /usr/local/bin/nat-lab.sh traffic 2");
    CHECK(traffic.output.find("rs1=1 rs2=1 sorry=0") != std::string::npos);
}

TEST_CASE(
    "10,000 destinations converge and dump under the default bounds, no call outliving them") {
    flush();
    auto kernel = open_kernel(netlink_limits{});
    const netlink_limits bounds{};
    // The most a call may take: its bound, plus the one receive wait that was under way (at most
    // per_message) and scheduling slack.
    const auto longest = bounds.per_call + bounds.per_message + 300ms;
    table want;
    for (int s = 0; s < 100; ++s) {
        auto service_address = "10.50." + std::to_string(s / 50) + "." + std::to_string(s % 50 + 1);
        auto v = svc(protocol::tcp, service_address + ":80", scheduler::wrr);
        auto& entry = want[v.key];
        entry.settings = v;
        for (int d = 0; d < 100; ++d) {
            auto real = dest("10.51." + std::to_string(s) + "." + std::to_string(d + 1) + ":80", 1);
            entry.destinations[real.address] = real;
        }
    }
    using steady = std::chrono::steady_clock;
    auto elapsed_ms = [](steady::time_point since) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - since).count();
    };
    int rounds = 0;
    std::size_t timed_out = 0;
    for (; rounds < 60; ++rounds) {
        auto start = steady::now();
        auto now = kernel->dump();
        CHECK(steady::now() - start < longest);
        REQUIRE(now.has_value());
        auto ops = diff(want, *now, {});
        if (ops.empty()) {
            break;
        }
        start = steady::now();
        auto answers = kernel->apply(ops);
        auto took = steady::now() - start;
        CHECK(took < longest);
        for (const auto& a : answers) {
            // Each command is either done or cut off by the bound; nothing else fails here.
            CHECK((!a || a == std::errc::timed_out));
            timed_out += a == std::errc::timed_out ? 1U : 0U;
        }
        MESSAGE("round " << rounds << ": " << ops.size() << " operations in "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms");
    }
    auto start = steady::now();
    auto final_dump = kernel->dump();
    auto dump_ms = elapsed_ms(start);
    REQUIRE(final_dump.has_value());
    std::size_t destinations = 0;
    for (const auto& [key, entry] : *final_dump) {
        destinations += entry.destinations.size();
    }
    MESSAGE("converged after " << rounds << " applies (" << timed_out
                               << " commands cut off by the bound and redone); the dump of "
                               << destinations << " destinations took " << dump_ms << " ms");
    CHECK(destinations == 10000);
    CHECK(diff(want, *final_dump, {}).empty());

    // A dump cut short by its bound leaves the kernel's dump running on the socket, and the
    // kernel refuses a second dump on it (EBUSY) until the first is read to its end: the next
    // call does that first.
    kernel->set_limits({.per_message = 200ms, .per_call = 5ms});
    auto cut = kernel->dump();
    REQUIRE_FALSE(cut.has_value());
    CHECK(cut.error().value() == ETIMEDOUT);
    kernel->set_limits(netlink_limits{});
    auto again = kernel->dump();
    REQUIRE(again.has_value());
    CHECK(again->size() == 100);
    CHECK(diff(want, *again, {}).empty());
    flush();
}
