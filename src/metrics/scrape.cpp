#include "metrics/scrape.hpp"

#include <array>
#include <map>

namespace vigil::metrics {

namespace {

using seconds_d = std::chrono::duration<double>;

double unix_seconds(std::chrono::system_clock::time_point at) {
    return seconds_d(at.time_since_epoch()).count();
}

double seconds(auto d) {
    return std::chrono::duration_cast<seconds_d>(d).count();
}

constexpr std::uint64_t flag(bool b) {
    return b ? 1 : 0;
}

void write_daemon(exposition& out, const daemon_facts& d) {
    out.family("vigil_build_info", metric_type::gauge, "Always 1; the version as a label.");
    out.sample("vigil_build_info", label_set().add("version", d.version).text(), std::uint64_t{1});
    out.family("vigil_start_time_seconds", metric_type::gauge,
               "When the daemon started, in seconds since the Unix epoch.");
    out.sample("vigil_start_time_seconds", {}, unix_seconds(d.started_at));
    out.family("vigil_config_reloads_total", metric_type::counter,
               "Reloads since the daemon started, by result (applied or rejected).");
    out.sample("vigil_config_reloads_total", "result=\"applied\"", d.reloads_applied);
    out.sample("vigil_config_reloads_total", "result=\"rejected\"", d.reloads_rejected);
    out.family("vigil_config_last_reload_timestamp_seconds", metric_type::gauge,
               "When the config in force was loaded (start or last applied reload), in seconds "
               "since the Unix epoch.");
    out.sample("vigil_config_last_reload_timestamp_seconds", {}, unix_seconds(d.config_loaded_at));
}

void write_vrrp(exposition& out, const std::vector<vrrp::instance_status>& routers) {
    if (routers.empty()) {
        return;
    }
    std::vector<label_set> labels(routers.size());
    for (std::size_t i = 0; i < routers.size(); ++i) {
        labels[i].add("vrrp_instance", routers[i].name);
    }
    constexpr std::array states{vrrp::state::initialize, vrrp::state::backup, vrrp::state::master,
                                vrrp::state::fault};
    out.family("vigil_vrrp_state", metric_type::gauge,
               "1 for the state the VRRP instance is in, 0 for the others.");
    for (std::size_t i = 0; i < routers.size(); ++i) {
        for (auto s : states) {
            std::string state_label = "state=\"";
            state_label += to_string(s);
            state_label += '"';
            out.sample("vigil_vrrp_state", labels[i].text(), flag(routers[i].current == s),
                       state_label);
        }
    }
    auto per_router = [&](std::string_view name, metric_type type, std::string_view help,
                          auto value_of) {
        out.family(name, type, help);
        for (std::size_t i = 0; i < routers.size(); ++i) {
            out.sample(name, labels[i].text(), static_cast<std::uint64_t>(value_of(routers[i])));
        }
    };
    per_router("vigil_vrrp_priority", metric_type::gauge,
               "Effective priority (configured, moved by trackers).",
               [](const auto& r) { return r.priority; });
    per_router("vigil_vrrp_configured_priority", metric_type::gauge, "Priority from the config.",
               [](const auto& r) { return r.configured_priority; });
    per_router("vigil_vrrp_adverts_sent_total", metric_type::counter, "Adverts sent.",
               [](const auto& r) { return r.adverts_sent; });
    per_router("vigil_vrrp_adverts_received_total", metric_type::counter,
               "Adverts received and accepted.", [](const auto& r) { return r.adverts_received; });
    per_router("vigil_vrrp_transitions_total", metric_type::counter, "State transitions.",
               [](const auto& r) { return r.transitions; });
    out.family("vigil_vrrp_dropped_packets_total", metric_type::counter,
               "Received packets dropped, by reason (see the README's drop reasons).");
    for (std::size_t i = 0; i < routers.size(); ++i) {
        for (const auto& [reason, count] : routers[i].dropped) {
            label_set reason_label;
            reason_label.add("reason", reason);
            out.sample("vigil_vrrp_dropped_packets_total", labels[i].text(), count,
                       reason_label.text());
        }
    }
}

void write_checks(exposition& out, const scrape_inputs& in) {
    const auto& servers = in.real_servers;
    if (servers.empty()) {
        return;
    }
    std::vector<label_set> labels(servers.size());
    for (std::size_t i = 0; i < servers.size(); ++i) {
        labels[i]
            .add("virtual_server", servers[i].virtual_server)
            .add("real_server", servers[i].name);
    }
    out.family("vigil_real_server_up", metric_type::gauge,
               "1 while the real server's health check says up, 0 while down.");
    for (std::size_t i = 0; i < servers.size(); ++i) {
        out.sample("vigil_real_server_up", labels[i].text(),
                   flag(servers[i].state == checkers::health::up));
    }
    out.family("vigil_real_server_drained", metric_type::gauge,
               "1 while an operator has drained the real server (IPVS weight 0).");
    for (std::size_t i = 0; i < servers.size(); ++i) {
        out.sample("vigil_real_server_drained", labels[i].text(),
                   flag(in.drained.contains(servers[i].name)));
    }
    // The check-level families carry the check's name too: a server with several checks has a
    // series per check.
    std::vector<std::pair<label_set, const checkers::check_status*>> checks;
    for (const auto& server : servers) {
        for (const auto& check : server.checks) {
            label_set l;
            l.add("virtual_server", server.virtual_server)
                .add("real_server", server.name)
                .add("check", check.name);
            checks.emplace_back(std::move(l), &check);
        }
    }
    out.family("vigil_real_server_check_up", metric_type::gauge,
               "1 while the check says up, 0 while down; the server is up while all are.");
    for (const auto& [l, c] : checks) {
        out.sample("vigil_real_server_check_up", l.text(), flag(c->state == checkers::health::up));
    }
    out.family("vigil_real_server_check_latency_seconds", metric_type::gauge,
               "Latency of the last check (0 before the first).");
    for (const auto& [l, c] : checks) {
        out.sample("vigil_real_server_check_latency_seconds", l.text(), seconds(c->last.latency));
    }
    out.family("vigil_real_server_checks_total", metric_type::counter,
               "Check results, by result (success or failure).");
    for (const auto& [l, c] : checks) {
        out.sample("vigil_real_server_checks_total", l.text(), c->counts.succeeded,
                   "result=\"success\"");
        out.sample("vigil_real_server_checks_total", l.text(), c->counts.failed,
                   "result=\"failure\"");
    }
    std::array<double, checkers::latency_bucket_bounds.size()> bound_values{};
    for (std::size_t b = 0; b < bound_values.size(); ++b) {
        bound_values[b] = seconds(checkers::latency_bucket_bounds[b]);
    }
    bucket_bounds bounds(bound_values);
    out.family("vigil_real_server_check_duration_seconds", metric_type::histogram,
               "Latency of every check result.");
    for (const auto& [l, c] : checks) {
        const auto& n = c->counts;
        out.histogram("vigil_real_server_check_duration_seconds", l.text(), bounds,
                      n.latency_buckets, n.succeeded + n.failed, seconds(n.latency_sum));
    }
}

void write_checker_engine(exposition& out, const checkers::health_monitor::counters& c) {
    auto gauge = [&](std::string_view name, std::string_view help, auto v) {
        out.family(name, metric_type::gauge, help);
        out.sample(name, {}, v);
    };
    auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        out.family(name, metric_type::counter, help);
        out.sample(name, {}, v);
    };
    gauge("vigil_checker_real_servers", "Checked real servers.",
          static_cast<std::uint64_t>(c.real_servers));
    gauge("vigil_checker_probes", "Distinct probes after de-duplication.",
          static_cast<std::uint64_t>(c.probes));
    gauge("vigil_checker_probes_running", "Probes running now.",
          static_cast<std::uint64_t>(c.running));
    counter("vigil_checker_runs_started_total", "Probe runs started.", c.runs_started);
    counter("vigil_checker_runs_completed_total", "Probe runs that completed.", c.runs_completed);
    counter("vigil_checker_runs_timed_out_total", "Probe runs that timed out.", c.runs_timed_out);
    counter("vigil_checker_runs_deferred_total",
            "Probe runs that started late: they waited for a slot or for a busy loop.",
            c.runs_deferred);
    gauge("vigil_checker_start_lag_seconds", "How late the latest probe run started.",
          seconds(c.start_lag));
    gauge("vigil_checker_max_start_lag_seconds", "The most any probe run started late.",
          seconds(c.max_start_lag));
}

void write_real_server_weights(exposition& out, const ipvs_facts& r) {
    const auto& specs = r.specs;
    const auto& desired = r.desired;
    const auto& kernel = r.kernel;
    struct row {
        label_set labels;
        std::uint64_t configured;
        std::optional<std::uint64_t> desired;
        std::optional<std::uint64_t> applied;
    };
    std::vector<row> rows;
    for (const auto& vs : specs) {
        auto want = desired.find(vs.settings.key);
        auto have = kernel.find(vs.settings.key);
        for (const auto& rs : vs.real_servers) {
            row x{label_set().add("virtual_server", vs.name).add("real_server", rs.name),
                  rs.weight,
                  {},
                  {}};
            if (want != desired.end()) {
                if (auto d = want->second.destinations.find(rs.address);
                    d != want->second.destinations.end()) {
                    x.desired = d->second.weight;
                }
            }
            if (have != kernel.end()) {
                if (auto d = have->second.destinations.find(rs.address);
                    d != have->second.destinations.end()) {
                    x.applied = d->second.weight;
                }
            }
            rows.push_back(std::move(x));
        }
    }
    out.family("vigil_real_server_weight", metric_type::gauge, "Weight from the config.");
    for (const auto& x : rows) {
        out.sample("vigil_real_server_weight", x.labels.text(), x.configured);
    }
    out.family("vigil_real_server_desired_weight", metric_type::gauge,
               "Weight vigil wants in IPVS (health, drain, dynamic weight); absent when it wants "
               "the real server out of the table.");
    for (const auto& x : rows) {
        if (x.desired) {
            out.sample("vigil_real_server_desired_weight", x.labels.text(), *x.desired);
        }
    }
    out.family("vigil_real_server_applied_weight", metric_type::gauge,
               "Weight in the kernel's table as vigil last saw it; absent when not in the table.");
    for (const auto& x : rows) {
        if (x.applied) {
            out.sample("vigil_real_server_applied_weight", x.labels.text(), *x.applied);
        }
    }
}

bool entry_in_sync(const ipvs::service_entry* want, const ipvs::service_entry* have) {
    if (!want || !have) {
        return want == have;
    }
    if (!want->settings.same_settings(have->settings) ||
        want->destinations.size() != have->destinations.size()) {
        return false;
    }
    for (const auto& [address, d] : want->destinations) {
        auto h = have->destinations.find(address);
        if (h == have->destinations.end() || !d.same_settings(h->second)) {
            return false;
        }
    }
    return true;
}

void write_virtual_servers(exposition& out, const ipvs_facts& r) {
    const auto& specs = r.specs;
    const auto& desired = r.desired;
    const auto& kernel = r.kernel;
    const auto& states = r.virtual_servers;
    struct row {
        label_set labels;
        ipvs::virtual_server_state state;
        bool in_sync = false;
        const ipvs::service_entry* kernel = nullptr;
        std::uint64_t active = 0;
        std::uint64_t inactive = 0;
    };
    std::vector<row> rows;
    rows.reserve(specs.size());
    bool all_in_sync = r.kernel_known;
    for (const auto& vs : specs) {
        row x;
        x.labels.add("virtual_server", vs.name);
        if (auto s = states.find(vs.name); s != states.end()) {
            x.state = s->second;
        }
        auto want = desired.find(vs.settings.key);
        auto have = kernel.find(vs.settings.key);
        x.kernel = have == kernel.end() ? nullptr : &have->second;
        x.in_sync = entry_in_sync(want == desired.end() ? nullptr : &want->second, x.kernel);
        all_in_sync = all_in_sync && x.in_sync;
        if (x.kernel) {
            for (const auto& [address, d] : x.kernel->destinations) {
                x.active += d.active_connections;
                x.inactive += d.inactive_connections;
            }
        }
        rows.push_back(std::move(x));
    }
    auto per_vs = [&](std::string_view name, metric_type type, std::string_view help,
                      auto value_of) {
        out.family(name, type, help);
        for (const auto& x : rows) {
            if (auto v = value_of(x)) {
                out.sample(name, x.labels.text(), static_cast<std::uint64_t>(*v));
            }
        }
    };
    using maybe = std::optional<std::uint64_t>;
    per_vs("vigil_virtual_server_quorum_up", metric_type::gauge,
           "1 while the healthy weight meets the quorum.",
           [](const row& x) { return maybe(flag(x.state.quorum_up)); });
    per_vs("vigil_virtual_server_healthy_weight", metric_type::gauge,
           "Sum of the weights of the healthy real servers.",
           [](const row& x) { return maybe(x.state.healthy_weight); });
    per_vs("vigil_virtual_server_sorry_server_active", metric_type::gauge,
           "1 while the sorry server replaces the real servers.",
           [](const row& x) { return maybe(flag(x.state.sorry_server_active)); });
    per_vs("vigil_virtual_server_in_sync", metric_type::gauge,
           "1 when the kernel's entry (as vigil last saw it) matches what vigil wants.",
           [](const row& x) { return maybe(flag(x.in_sync)); });
    // The kernel's counters exist only for services in its table.
    auto kernel_value = [](auto field) {
        return [field](const row& x) { return x.kernel ? maybe(field(*x.kernel)) : maybe(); };
    };
    per_vs("vigil_virtual_server_active_connections", metric_type::gauge,
           "Active connections over the service's destinations (kernel).",
           [](const row& x) { return x.kernel ? maybe(x.active) : maybe(); });
    per_vs("vigil_virtual_server_inactive_connections", metric_type::gauge,
           "Inactive connections over the service's destinations (kernel).",
           [](const row& x) { return x.kernel ? maybe(x.inactive) : maybe(); });
    per_vs("vigil_virtual_server_connections_total", metric_type::counter,
           "Connections the service scheduled (kernel).",
           kernel_value([](const ipvs::service_entry& e) { return e.settings.stats.connections; }));
    per_vs("vigil_virtual_server_in_packets_total", metric_type::counter, "Packets in (kernel).",
           kernel_value([](const ipvs::service_entry& e) { return e.settings.stats.in_packets; }));
    per_vs("vigil_virtual_server_out_packets_total", metric_type::counter, "Packets out (kernel).",
           kernel_value([](const ipvs::service_entry& e) { return e.settings.stats.out_packets; }));
    per_vs("vigil_virtual_server_in_bytes_total", metric_type::counter, "Bytes in (kernel).",
           kernel_value([](const ipvs::service_entry& e) { return e.settings.stats.in_bytes; }));
    per_vs("vigil_virtual_server_out_bytes_total", metric_type::counter, "Bytes out (kernel).",
           kernel_value([](const ipvs::service_entry& e) { return e.settings.stats.out_bytes; }));

    out.family("vigil_ipvs_in_sync", metric_type::gauge,
               "1 when every virtual server's kernel entry matches what vigil wants.");
    out.sample("vigil_ipvs_in_sync", {}, flag(all_in_sync));
}

void write_reconciler(exposition& out, const ipvs_facts& r) {
    const auto& c = r.counters;
    out.family("vigil_ipvs_syncs_total", metric_type::counter,
               "Syncs that reached the kernel, by reason (startup, requested, retry, resync, "
               "manual, health, health_batch).");
    for (const auto& [reason, count] : c.syncs) {
        out.sample("vigil_ipvs_syncs_total", label_set().add("reason", reason).text(), count);
    }
    out.family("vigil_ipvs_operations_total", metric_type::counter,
               "IPVS operations sent to the kernel.");
    out.sample("vigil_ipvs_operations_total", {}, c.operations);
    out.family("vigil_ipvs_operations_failed_total", metric_type::counter,
               "IPVS operations the kernel refused.");
    out.sample("vigil_ipvs_operations_failed_total", {}, c.failed);
    out.family("vigil_ipvs_dumps_failed_total", metric_type::counter,
               "Kernel table dumps that failed.");
    out.sample("vigil_ipvs_dumps_failed_total", {}, c.dumps_failed);
    if (const auto& last = r.last_report) {
        out.family("vigil_ipvs_last_dump_seconds", metric_type::gauge,
                   "How long the last full sync's kernel dump took.");
        out.sample("vigil_ipvs_last_dump_seconds", {}, seconds(last->dump_time));
        out.family("vigil_ipvs_last_apply_seconds", metric_type::gauge,
                   "How long the last full sync's apply took.");
        out.sample("vigil_ipvs_last_apply_seconds", {}, seconds(last->apply_time));
    }
    out.family("vigil_ipvs_owned_services", metric_type::gauge, "IPVS services vigil owns.");
    out.sample("vigil_ipvs_owned_services", {}, static_cast<std::uint64_t>(r.owned_services));
}

}  // namespace

void write_scrape(exposition& out, const scrape_inputs& in) {
    // About 1.2 KB per checked real server with its histogram; one allocation, not dozens.
    out.reserve(4096 + in.real_servers.size() * 2048);
    write_daemon(out, in.daemon);
    write_vrrp(out, in.vrrp);
    write_checks(out, in);
    if (in.checker) {
        write_checker_engine(out, *in.checker);
    }
    if (in.ipvs) {
        write_real_server_weights(out, *in.ipvs);
        write_virtual_servers(out, *in.ipvs);
        write_reconciler(out, *in.ipvs);
    }
    if (in.bgp) {
        out.family("vigil_bgp_announced", metric_type::gauge,
                   "1 while the prefix is announced to BIRD (and the liveness link is up), 0 while "
                   "withdrawn.");
        for (const auto& [prefix, announced] : in.bgp_prefixes) {
            out.sample("vigil_bgp_announced", label_set().add("prefix", prefix).text(),
                       std::uint64_t{announced ? 1u : 0u});
        }
    }
}

ipvs_facts ipvs_facts::of(const ipvs::reconciler& reconciler) {
    ipvs_facts facts;
    facts.specs = reconciler.specs();
    facts.desired = reconciler.desired();
    facts.kernel = reconciler.view().table();
    facts.kernel_known = reconciler.view().known();
    facts.virtual_servers = reconciler.virtual_servers();
    facts.counters = reconciler.counters();
    facts.last_report = reconciler.last_report();
    facts.owned_services = reconciler.owned().size();
    return facts;
}

}  // namespace vigil::metrics
