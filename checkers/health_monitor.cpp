#include "checkers/health_monitor.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <limits>

#include "checkers/dns_probe.hpp"
#include "checkers/file_probe.hpp"
#include "checkers/grpc_probe.hpp"
#include "checkers/http_client_probe.hpp"
#include "checkers/icmp_probe.hpp"
#include "checkers/script_probe.hpp"
#include "checkers/smtp_probe.hpp"
#include "checkers/tcp_probe.hpp"
#include "checkers/udp_probe.hpp"

namespace vigil::checkers {

namespace asio = boost::asio;

namespace {

// Wake-ups are rounded up to this grid, so 10,000 probes a second cost 100 timer wake-ups, not
// 10,000; starting a probe up to 10 ms late does not matter to a health check.
constexpr auto wakeup_grid = std::chrono::milliseconds(10);

// Probes that may run at once without exhausting file descriptors.
std::size_t descriptor_budget() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
        return std::numeric_limits<std::size_t>::max();
    }
    constexpr rlim_t reserved = 512;  // the daemon's own sockets, the curl multi handles, slack
    auto room = limit.rlim_cur > reserved ? (limit.rlim_cur - reserved) / 4 : 0;
    return std::max<std::size_t>(static_cast<std::size_t>(room), 16);
}

time_point on_grid(time_point t) {
    auto since = t.time_since_epoch();
    auto rounded = (since + wakeup_grid - mono_clock::duration{1}) / wakeup_grid * wakeup_grid;
    return time_point{std::chrono::duration_cast<mono_clock::duration>(rounded)};
}

}  // namespace

// A real server keeps only what is its own; the probe parameters live once, in the probe key.
void check_counts::add(const probe_result& result) {
    ++(result.success ? succeeded : failed);
    latency_sum += result.latency;
    for (std::size_t i = 0; i < latency_bucket_bounds.size(); ++i) {
        if (result.latency <= latency_bucket_bounds[i]) {
            ++latency_buckets[i];
            break;
        }
    }
}

struct health_monitor::server_check {
    server_check(server& of, const check_spec& spec, health start, time_point now)
        : owner(&of),
          name(name_of(spec)),
          type(spec.type),
          rise(spec.rise),
          fall(spec.fall),
          counter(spec.rise, spec.fall, start),
          since(now) {}
    server* owner;
    std::string name;
    check_type type;
    unsigned rise;
    unsigned fall;
    rise_fall counter;
    time_point since;
    probe_id probe = 0;
    std::optional<unsigned> dynamic_weight;
    bool checked = false;
    probe_result last;
    time_point last_checked{};
    unsigned consecutive = 0;
    check_counts counts;
};

struct health_monitor::server {
    server(const checked_server_spec& s, time_point now)
        : name(s.name), virtual_server(s.virtual_server), configured_weight(s.weight), since(now) {}
    std::string name;
    std::string virtual_server;
    unsigned configured_weight;
    // Held by pointer: probe slots point at them across reloads that add or remove checks.
    std::vector<std::unique_ptr<server_check>> checks;
    health state = health::up;
    time_point since;
    flap_detector flaps;
    std::uint64_t generation = 0;  // the latest update that named it

    health agreed_state() const {
        for (const auto& c : checks) {
            if (c->counter.state() == health::down) {
                return health::down;
            }
        }
        return health::up;
    }
    // The lowest weight a dynamic-weight check chose, else the configured one.
    unsigned weight() const {
        std::optional<unsigned> chosen;
        for (const auto& c : checks) {
            if (c->dynamic_weight && (!chosen || *c->dynamic_weight < *chosen)) {
                chosen = c->dynamic_weight;
            }
        }
        return chosen.value_or(configured_weight);
    }
};

struct health_monitor::probe_slot {
    const probe_key* key = nullptr;  // the key in probe_by_key_; the probe refers to its options
    std::unique_ptr<checkers::probe> impl;
    std::vector<server_check*> checks;
    std::uint64_t run = 0;  // serial of the current run; a stale answer carries an older one
};

const check_status& real_server_status::deciding() const {
    for (const auto& c : checks) {
        if (c.state == health::down) {
            return c;
        }
    }
    return checks.front();
}

health_monitor::health_monitor(asio::any_io_executor executor, event_log& log,
                               random_source& random, clock_source& clock, change_handler on_change,
                               std::size_t max_running)
    : executor_(executor),
      log_(log),
      random_(random),
      clock_(clock),
      on_change_(std::move(on_change)),
      scheduler_(random),
      http_client_(std::make_unique<http_client_context>(executor)),
      runner_(executor),
      icmp4_(executor, icmp_version::v4, static_cast<std::uint16_t>(random.uniform(0xffff))),
      icmp6_(executor, icmp_version::v6, static_cast<std::uint16_t>(random.uniform(0xffff))),
      timer_(clock.make_timer()),
      max_running_(std::clamp<std::size_t>(max_running, 1, descriptor_budget())) {}

health_monitor::~health_monitor() {
    *alive_ = false;
    // Probes first: they cancel their connections and children while http_client_ and runner_
    // still exist.
    probes_.clear();
}

std::unique_ptr<probe> health_monitor::make_probe(const probe_key& key) {
    switch (key.type) {
        case check_type::http:
        case check_type::https:
            // HTTP/1.1 is a small protocol: the in-house client does all of http_spec, over TLS
            // too, at a fraction of libcurl's syscalls and allocations.
            return std::make_unique<http_client_probe>(*http_client_, key.target, key.http,
                                                       key.type == check_type::https, key.bind);
        case check_type::tcp:
            return std::make_unique<tcp_probe>(executor_, key.target, key.tcp, key.bind);
        case check_type::script:
            return std::make_unique<script_probe>(runner_, key.target, key.script, key.timeout);
        case check_type::udp:
            return std::make_unique<udp_probe>(executor_, key.target, key.udp, key.timeout);
        case check_type::dns:
            return std::make_unique<dns_probe>(executor_, key.target, key.dns, random_);
        case check_type::file:
            return std::make_unique<file_probe>(executor_, key.file);
        case check_type::smtp:
            return std::make_unique<smtp_probe>(executor_, key.target, key.smtp,
                                                http_client_->tls_contexts());
        case check_type::grpc:
            if (!grpc_multi_) {
                grpc_multi_ = std::make_unique<curl_multi>(executor_);
            }
            return std::make_unique<grpc_probe>(*grpc_multi_, key.target, key.grpc, key.timeout);
        case check_type::icmp:
            return std::make_unique<icmp_probe>(key.target.address.is_v4() ? icmp4_ : icmp6_,
                                                key.target.address);
    }
    return nullptr;
}

void health_monitor::attach(server_check& c, probe_key key) {
    auto found = probe_by_key_.find(key);
    if (found != probe_by_key_.end()) {
        c.probe = found->second;
        probes_.at(c.probe)->checks.push_back(&c);
        return;
    }
    auto id = next_probe_++;
    auto slot = std::make_unique<probe_slot>();
    auto inserted = probe_by_key_.emplace(std::move(key), id).first;
    slot->key = &inserted->first;  // element addresses survive rehashing
    slot->impl = make_probe(*slot->key);
    slot->checks.push_back(&c);
    const auto& k = *slot->key;
    scheduler_.add(id, probe_timing{k.interval, k.recheck_interval, k.timeout}, clock_.now());
    probes_.emplace(id, std::move(slot));
    c.probe = id;
}

void health_monitor::detach(server_check& c) {
    auto it = probes_.find(c.probe);
    c.probe = 0;
    if (it == probes_.end()) {
        return;
    }
    auto& slot = *it->second;
    auto& list = slot.checks;
    list.erase(std::remove(list.begin(), list.end(), &c), list.end());
    if (!list.empty()) {
        return;
    }
    // The probe refers to the key's options: it goes first.
    slot.impl.reset();
    if (scheduler_.running(it->first)) {
        --running_;
    }
    scheduler_.remove(it->first);
    probe_by_key_.erase(probe_by_key_.find(*slot.key));
    probes_.erase(it);
}

void health_monitor::update_checks(server& s, std::vector<check_spec>& specs,
                                   const ip_endpoint& endpoint, time_point now) {
    std::vector<std::unique_ptr<server_check>> kept;
    kept.reserve(specs.size());
    for (auto& spec : specs) {
        auto name = name_of(spec);
        auto old = std::find_if(s.checks.begin(), s.checks.end(),
                                [&](const auto& c) { return c && c->name == name; });
        auto key = key_of(spec, endpoint);
        if (old == s.checks.end()) {
            // A check added to a running server starts from the server's state: adding a check
            // by reload neither takes a healthy server out nor brings a failed one back.
            auto c = std::make_unique<server_check>(s, spec, s.state, now);
            attach(*c, std::move(key));
            kept.push_back(std::move(c));
            continue;
        }
        auto& c = **old;
        if (*probes_.at(c.probe)->key != key || c.rise != spec.rise || c.fall != spec.fall) {
            // A new check starts from the state the old one established.
            detach(c);
            c.counter = rise_fall(spec.rise, spec.fall, c.counter.state());
            c.dynamic_weight.reset();
            c.type = spec.type;
            c.rise = spec.rise;
            c.fall = spec.fall;
            attach(c, std::move(key));
        }
        kept.push_back(std::move(*old));
    }
    for (auto& gone : s.checks) {
        if (gone) {
            detach(*gone);
        }
    }
    s.checks = std::move(kept);
}

std::vector<std::string> health_monitor::stale_servers() const {
    std::vector<std::string> stale;
    for (const auto& [name, s] : servers_) {
        if (s->generation != generation_) {
            stale.emplace_back(name);
        }
    }
    return stale;
}

void health_monitor::remove_server(const std::string& name) {
    auto it = servers_.find(name);
    if (it == servers_.end()) {
        return;
    }
    for (auto& c : it->second->checks) {
        detach(*c);
    }
    servers_.erase(it);
}

void health_monitor::update_server(checked_server_spec& spec, time_point now) {
    auto it = servers_.find(spec.name);
    if (it == servers_.end()) {
        auto s = std::make_unique<server>(spec, now);
        s->generation = generation_;
        ++named_;
        s->flaps.set_spec(flap_spec_);
        for (const auto& check : spec.checks) {
            auto c = std::make_unique<server_check>(*s, check, check.initial_state, now);
            attach(*c, key_of(check, spec.endpoint));
            s->checks.push_back(std::move(c));
        }
        s->state = s->agreed_state();
        health_change change{s->name, s->virtual_server, s->state, s->weight()};
        std::string_view name = s->name;  // the key views the server's own name
        servers_.emplace(name, std::move(s));
        if (on_change_) {
            on_change_(change);
        }
        return;
    }
    auto& s = *it->second;
    if (s.generation != generation_) {
        s.generation = generation_;
        ++named_;
    }
    unsigned old_weight = s.weight();
    update_checks(s, spec.checks, spec.endpoint, now);
    // The initial state only matters at registration; a reload never resets to it.
    s.virtual_server = spec.virtual_server;
    s.configured_weight = spec.weight;
    // Removing the only failing check brings the server back now, not at its next result.
    settle(s, nullptr, probe_result::ok(), now, old_weight);
}

// Servers are updated first and the ones the new set does not name removed after (marked by
// generation, so finding them needs no lookup by name): a server renamed on the same address
// keeps its shared probe and schedule.
void health_monitor::update(std::vector<checked_server_spec> servers) {
    ++generation_;
    named_ = 0;
    auto now = clock_.now();
    for (auto& spec : servers) {
        update_server(spec, now);
    }
    for (const auto& name : stale_servers()) {
        remove_server(name);
    }
    rearm();
}

void health_monitor::update_in_turns(std::vector<checked_server_spec> servers,
                                     removed_handler done) {
    ++generation_;
    named_ = 0;
    update_from(std::make_shared<std::vector<checked_server_spec>>(std::move(servers)), 0,
                std::move(done));
}

void health_monitor::update_from(std::shared_ptr<std::vector<checked_server_spec>> servers,
                                 std::size_t first, removed_handler done) {
    auto now = clock_.now();
    auto last = std::min(servers->size(), first + update_batch);
    for (auto i = first; i < last; ++i) {
        update_server((*servers)[i], now);
        // Freed with its batch: 10,000 specs freed at the end held the last turn for ms.
        (*servers)[i] = checked_server_spec{};
    }
    rearm();
    if (last == servers->size()) {
        sweep_from(0, std::make_shared<std::vector<std::string>>(), std::move(done));
        return;
    }
    boost::asio::post(executor_, [this, alive = alive_, servers = std::move(servers), last,
                                  done = std::move(done)]() mutable {
        if (!*alive) {
            if (done) {
                done({});  // the monitor is gone (a stop): whoever waits is not left waiting
            }
            return;
        }
        update_from(std::move(servers), last, std::move(done));
    });
}

// The servers the update did not name go, a range of hash buckets per turn (the bucket count
// stays put: nothing is inserted until the next update). Usually every server was named and
// nothing is walked.
void health_monitor::sweep_from(std::size_t first_bucket,
                                std::shared_ptr<std::vector<std::string>> removed,
                                removed_handler done) {
    auto buckets = named_ == servers_.size() ? 0 : servers_.bucket_count();
    auto last = std::min(buckets, first_bucket + update_batch);
    std::vector<std::string> stale;
    for (auto b = first_bucket; b < last; ++b) {
        for (auto it = servers_.begin(b); it != servers_.end(b); ++it) {
            if (it->second->generation != generation_) {
                stale.emplace_back(it->first);
            }
        }
    }
    for (auto& name : stale) {
        remove_server(name);
        removed->push_back(std::move(name));
    }
    if (last >= buckets) {
        rearm();
        if (done) {
            done(std::move(*removed));
        }
        return;
    }
    boost::asio::post(executor_, [this, alive = alive_, last, removed = std::move(removed),
                                  done = std::move(done)]() mutable {
        if (!*alive) {
            if (done) {
                done(std::move(*removed));
            }
            return;
        }
        sweep_from(last, std::move(removed), std::move(done));
    });
}

void health_monitor::rearm() {
    // With every slot taken, only a timeout can need a wake-up: the runs that are due wait for
    // a run to end, which re-arms.
    auto next = running_ >= max_running_ ? scheduler_.next_deadline() : scheduler_.next_wakeup();
    if (next) {
        next = on_grid(*next);
    }
    if (!next) {
        timer_->cancel();
        return;
    }
    auto armed = timer_->armed_for();
    if (armed && *armed <= *next) {
        return;  // the armed wake-up comes first; it re-arms for the rest
    }
    // The timer drops its handler when it is destroyed, so `this` cannot dangle.
    timer_->arm(*next, [this] { on_timer(); });
}

void health_monitor::on_timer() {
    auto now = clock_.now();
    auto free_slots = max_running_ > running_ ? max_running_ - running_ : 0;
    auto work = scheduler_.poll(now, std::min(free_slots, max_starts_per_turn));
    for (auto id : work.timed_out) {
        auto& slot = *probes_.at(id);
        slot.impl->cancel();
        ++counters_.runs_timed_out;
        auto result = probe_result::fail("timeout");
        result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(slot.key->timeout);
        deliver(id, slot.run, std::move(result));
    }
    for (std::size_t i = 0; i < work.start.size(); ++i) {
        auto id = work.start[i];
        note_start_lag(work.waited[i], now);
        ++running_;
        auto& slot = *probes_.at(id);
        auto run = ++slot.run;
        ++counters_.runs_started;
        // A probe reports on the loop, after start() returned; `alive` covers a report that was
        // already queued when the engine was destroyed.
        slot.impl->start([this, id, run, alive = alive_](probe_result result) {
            if (*alive) {
                deliver(id, run, std::move(result));
            }
        });
    }
    rearm();
    if (work.start.size() == max_starts_per_turn && !more_starts_posted_) {
        // More may be due: they start on the next turn, after whatever else waits for the loop
        // (a VRRP advert), not on the next wake-up grid tick.
        more_starts_posted_ = true;
        boost::asio::post(executor_, [this, alive = alive_] {
            if (*alive) {
                more_starts_posted_ = false;
                on_timer();
            }
        });
    }
}

void health_monitor::deliver(probe_id id, std::uint64_t run, probe_result result) {
    auto it = probes_.find(id);
    if (it == probes_.end() || it->second->run != run) {
        return;  // the probe was removed or replaced meanwhile
    }
    auto now = clock_.now();
    if (!scheduler_.running(id)) {
        return;
    }
    ++counters_.runs_completed;
    --running_;
    bool pending = false;
    // Copied: the list must not change under the loop (on_change must not call update(); this
    // only guards against a slot vector reallocation).
    auto checks = it->second->checks;
    for (auto* c : checks) {
        record(*c, result, now);
        pending = pending || c->counter.transition_pending();
    }
    scheduler_.finish(id, now, pending);
    rearm();
}

void health_monitor::note_start_lag(duration waited, time_point now) {
    counters_.start_lag = waited;
    counters_.max_start_lag = std::max(counters_.max_start_lag, waited);
    if (waited > wakeup_grid) {
        ++counters_.runs_deferred;
    }
    if (waited <= overload_lag ||
        (overload_logged_at_ && now - *overload_logged_at_ < overload_log_interval)) {
        return;
    }
    overload_logged_at_ = now;
    log_.warning("checker.overloaded", {{"lag_ms", static_cast<std::int64_t>(waited.count())},
                                        {"running", running_},
                                        {"max_running", max_running_},
                                        {"probes", probes_.size()}});
}

void health_monitor::record(server_check& c, const probe_result& result, time_point now) {
    auto& s = *c.owner;
    unsigned old_weight = s.weight();
    bool same = c.checked && c.last.success == result.success;
    c.consecutive = same ? c.consecutive + 1 : 1;
    c.counts.add(result);
    c.checked = true;
    c.last = result;
    c.last_checked = now;
    if (result.success) {
        c.dynamic_weight = result.weight;
    }
    auto changed = c.counter.record(result.success);
    if (changed) {
        c.since = now;
    }
    settle(s, changed ? &c : nullptr, result, now, old_weight);
}

void health_monitor::settle(server& s, const server_check* cause, const probe_result& result,
                            time_point now, unsigned old_weight) {
    auto agreed = s.agreed_state();
    bool changed = agreed != s.state;
    std::string_view check = cause ? std::string_view(cause->name) : "";
    if (!cause && changed) {
        // A reload moved it: name the check that now decides.
        for (const auto& c : s.checks) {
            if (c->counter.state() == agreed) {
                check = c->name;
                if (agreed == health::down) {
                    break;
                }
            }
        }
    }
    std::int64_t latency_ms = cause ? result.latency.count() : 0;
    std::string_view reason = cause ? std::string_view(result.reason) : "reload";
    if (changed) {
        s.state = agreed;
        s.since = now;
        bool up = agreed == health::up;
        auto verdict = s.flaps.on_transition(now);
        if (verdict == flap_detector::verdict::start_flapping) {
            log_.warning(
                "real_server.flapping",
                {{"virtual_server", s.virtual_server},
                 {"real_server", s.name},
                 {"check", check},
                 {"transitions", s.flaps.recent_transitions()},
                 {"window_s",
                  std::chrono::duration_cast<std::chrono::seconds>(flap_spec_.window).count()},
                 {"state", up ? "up" : "down"},
                 {"reason", reason}});
        }
        // While flapping, each transition is still recorded, at debug level only.
        log_.emit(verdict != flap_detector::verdict::log ? log_level::debug
                  : up                                   ? log_level::info
                                                         : log_level::warning,
                  up ? "real_server.up" : "real_server.down",
                  {{"virtual_server", s.virtual_server},
                   {"real_server", s.name},
                   {"check", check},
                   {"reason", reason},
                   {"latency_ms", latency_ms}});
    } else if (cause) {
        // One of several checks moved while another still holds the server down.
        bool up = cause->counter.state() == health::up;
        log_.info(up ? "real_server.check_up" : "real_server.check_down",
                  {{"virtual_server", s.virtual_server},
                   {"real_server", s.name},
                   {"check", check},
                   {"reason", reason},
                   {"latency_ms", latency_ms}});
    } else if (s.flaps.settled(now)) {
        log_.info("real_server.flapping_stopped",
                  {{"virtual_server", s.virtual_server},
                   {"real_server", s.name},
                   {"check", s.checks.empty() ? std::string_view() : s.checks.front()->name},
                   {"state", s.state == health::up ? "up" : "down"}});
    }
    if ((changed || s.weight() != old_weight) && on_change_) {
        on_change_(health_change{s.name, s.virtual_server, s.state, s.weight()});
    }
}

void health_monitor::set_flap_spec(flap_spec spec) {
    flap_spec_ = spec;
    for (auto& [name, s] : servers_) {
        s->flaps.set_spec(spec);
    }
}

real_server_status health_monitor::snapshot(const server& s) {
    real_server_status out;
    out.name = s.name;
    out.virtual_server = s.virtual_server;
    out.state = s.state;
    out.since = s.since;
    out.weight = s.weight();
    out.checks.reserve(s.checks.size());
    for (const auto& c : s.checks) {
        out.checks.push_back(check_status{c->name, c->type, c->counter.state(), c->since,
                                          c->checked, c->last, c->last_checked, c->consecutive,
                                          c->counter.streak(), c->counts});
    }
    return out;
}

std::vector<real_server_status> health_monitor::status() const {
    // Sorted by name through pointers: sorting the snapshots themselves moves every one of them
    // (strings and a histogram each) about log2(n) times, on the loop.
    std::vector<std::pair<std::string_view, const server*>> order;
    order.reserve(servers_.size());
    for (const auto& [name, s] : servers_) {
        order.emplace_back(name, s.get());
    }
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<real_server_status> out;
    out.reserve(order.size());
    for (const auto& [name, s] : order) {
        out.push_back(snapshot(*s));
    }
    return out;
}

std::optional<real_server_status> health_monitor::status(std::string_view real_server) const {
    auto it = servers_.find(real_server);
    if (it == servers_.end()) {
        return std::nullopt;
    }
    return snapshot(*it->second);
}

health_monitor::counters health_monitor::stats() const {
    auto c = counters_;
    c.real_servers = servers_.size();
    c.probes = probes_.size();
    c.running = running_;
    return c;
}

}  // namespace vigil::checkers
