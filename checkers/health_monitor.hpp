#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/child_process.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "base/random_source.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/flap_detector.hpp"
#include "checkers/icmp_socket.hpp"
#include "checkers/probe.hpp"
#include "checkers/probe_result.hpp"
#include "checkers/rise_fall.hpp"
#include "checkers/scheduler.hpp"

namespace vigil::checkers {

class curl_multi;
class http_client_context;

// What the IPVS side needs to know about one real server.
struct health_change {
    std::string real_server;     // "web/192.168.1.101:80"
    std::string virtual_server;  // "web"
    health state = health::up;
    // The configured weight, or the one a dynamic-weight script chose; what IPVS should use while
    // the server is up. It does not drop to 0 when down: remove or inhibit is the IPVS side's call.
    unsigned weight = 1;
};

// Every result one real server's check produced since it was registered: what a metrics scrape
// turns into counters and a latency histogram. latency_buckets[i] counts results whose latency
// was at most latency_bucket_bounds[i] (not cumulative); longer ones are only in the totals.
inline constexpr std::array<std::chrono::milliseconds, 10> latency_bucket_bounds{
    std::chrono::milliseconds(5),    std::chrono::milliseconds(10),
    std::chrono::milliseconds(25),   std::chrono::milliseconds(50),
    std::chrono::milliseconds(100),  std::chrono::milliseconds(250),
    std::chrono::milliseconds(500),  std::chrono::milliseconds(1000),
    std::chrono::milliseconds(2500), std::chrono::milliseconds(5000)};
struct check_counts {
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;
    std::array<std::uint64_t, latency_bucket_bounds.size()> latency_buckets{};
    std::chrono::milliseconds latency_sum{0};

    void add(const probe_result& result);
};

// One check of one real server as `vigil status` shows it.
struct check_status {
    std::string name;  // unique among the server's checks
    check_type type = check_type::tcp;
    health state = health::up;
    time_point since{};    // registration or last transition
    bool checked = false;  // false until the first result
    probe_result last;     // the last result (reason "ok" or why not)
    time_point last_checked{};
    // Consecutive results equal to the last one (successes if it succeeded, else failures).
    unsigned consecutive = 0;
    // Results that disagree with the state, towards rise or fall.
    unsigned pending = 0;
    check_counts counts;
};

// One real server as `vigil status` shows it: up while every one of its checks is.
struct real_server_status {
    std::string name;
    std::string virtual_server;
    health state = health::up;
    time_point since{};                // registration or last transition
    unsigned weight = 1;               // effective, as in health_change
    std::vector<check_status> checks;  // in configuration order
    // The check that decides the state: the first one that is down, else the first.
    const check_status& deciding() const;
};

// The health-check engine: owns the curl multi handles, the child runner, one timer and every
// probe; feeds the rise/fall counter of each real server's checks from their probes. A probe is
// shared by every check whose probe_key is equal, so identical checks on several virtual servers
// (or twice on one server) run once.
//
// A real server is up while all of its checks are. Every transition of the server is logged as
// real_server.up (info) / real_server.down (warning) with fields virtual_server, real_server,
// check (the check whose result moved it), reason, latency_ms, and reported through on_change. A
// check's own transition that does not move the server (a second check failing on a server
// already down) is logged as real_server.check_up / real_server.check_down (info) with the same
// fields. on_change is also called once for every newly registered real server with its initial
// state, and whenever a dynamic weight changes the effective weight.
//
// Runs on the event loop's thread; must be destroyed before its io_context. on_change must not
// call update() from inside the call (post it instead).
class health_monitor {
  public:
    using change_handler = std::function<void(const health_change&)>;

    // At most `max_running` probes run at once; the rest wait their turn, longest-waiting first,
    // instead of piling up. It bounds memory (about 30 KB per HTTP transfer) and keeps an
    // overloaded or partitioned director from timing out thousands of checks at once and taking
    // healthy servers down: overload stretches intervals instead. A probe's timeout starts when
    // it actually starts, so the time it waited in vigil's own queue (for a slot, or behind a late
    // wake-up) is never charged to the server; a server goes down only for its own failures.
    // While probes start more than overload_lag late, checker.overloaded (warning; fields lag_ms,
    // running, max_running, probes) is logged at most once per overload_log_interval. It is further
    // limited to what the soft RLIMIT_NOFILE leaves room for (a script probe holds up to four
    // descriptors, the rest of the daemon and the 64 curl multi handles need some too), so running
    // out of descriptors can never fail checks: with the usual 1024 that is 128.
    static constexpr std::size_t default_max_running = 2048;
    static constexpr duration overload_lag = std::chrono::milliseconds(100);
    // Probes started in one loop turn, at most (a start is a socket and a connect, 10-20 us): a
    // wake-up after a stall that finds hundreds due must not hold the loop the VRRP adverts share
    // for as long again. The rest start on the following turns.
    static constexpr std::size_t max_starts_per_turn = 128;
    static constexpr duration overload_log_interval = std::chrono::seconds(10);

    health_monitor(boost::asio::any_io_executor executor, event_log& log, random_source& random,
                   clock_source& clock, change_handler on_change,
                   std::size_t max_running = default_max_running);
    ~health_monitor();
    health_monitor(const health_monitor&) = delete;
    health_monitor& operator=(const health_monitor&) = delete;

    // Makes `servers` the set of checked real servers (names unique). Unchanged checks keep their
    // probe, counter, state and schedule: a reload never resets health. A server whose weight or
    // virtual server changed keeps them too. Checks are matched by name: a changed check gets the
    // new probe starting from its current state (not the initial state), and a check added to a
    // server starts from the server's state, so a reload does not flap it.
    void update(std::vector<checked_server_spec> servers);
    // The same, spread over loop turns so that a reload of 10,000 servers never holds the loop
    // (and the VRRP adverts that share it) for more than a few milliseconds: servers are updated,
    // then the ones that left removed, update_batch at a time, one batch per turn. `done` gets
    // the names of the removed servers after the last batch (also if the monitor is destroyed
    // first). Not to be called again, nor update(), before `done`.
    static constexpr std::size_t update_batch = 500;
    using removed_handler = std::function<void(std::vector<std::string> removed)>;
    void update_in_turns(std::vector<checked_server_spec> servers, removed_handler done);

    std::vector<real_server_status> status() const;
    std::optional<real_server_status> status(std::string_view real_server) const;

    struct counters {
        std::size_t real_servers = 0;
        std::size_t probes = 0;  // after de-duplication
        std::uint64_t runs_started = 0;
        std::uint64_t runs_completed = 0;
        std::uint64_t runs_timed_out = 0;
        // Runs that started more than a wake-up late: they waited for one of the max_running
        // slots, or the loop was too busy to wake up on time.
        std::uint64_t runs_deferred = 0;
        std::size_t running = 0;
        // How long past its due time the latest run started, and the most any run did: vigil's
        // own queueing, never charged to a server's timeout.
        duration start_lag{0};
        duration max_start_lag{0};
    };
    counters stats() const;

    // Flap damping of the transition log (see flap_detector); applies to every real server.
    void set_flap_spec(flap_spec spec);

  private:
    struct server;
    struct server_check;
    struct probe_slot;

    std::unique_ptr<probe> make_probe(const probe_key& key);
    void attach(server_check& c, probe_key key);
    void detach(server_check& c);
    void update_checks(server& s, std::vector<check_spec>& specs, const ip_endpoint& endpoint,
                       time_point now);
    void update_server(checked_server_spec& spec, time_point now);
    // The servers the latest update did not name.
    std::vector<std::string> stale_servers() const;
    void remove_server(const std::string& name);
    void update_from(std::shared_ptr<std::vector<checked_server_spec>> servers, std::size_t first,
                     removed_handler done);
    void sweep_from(std::size_t first_bucket, std::shared_ptr<std::vector<std::string>> removed,
                    removed_handler done);
    void on_timer();
    void rearm();
    void deliver(probe_id id, std::uint64_t run, probe_result result);
    void record(server_check& c, const probe_result& result, time_point now);
    // After `cause` changed state (or a reload changed the checks): moves the server to the state
    // its checks agree on, logging and reporting what changed.
    void settle(server& s, const server_check* cause, const probe_result& result, time_point now,
                unsigned old_weight);
    void note_start_lag(duration waited, time_point now);
    static real_server_status snapshot(const server& s);

    boost::asio::any_io_executor executor_;
    event_log& log_;
    random_source& random_;  // jitter, and the DNS probes' query IDs
    clock_source& clock_;
    change_handler on_change_;
    scheduler scheduler_;
    // Probes hold references to these two, so they are declared (and built) before the probes and
    // destroyed after them.
    std::unique_ptr<http_client_context> http_client_;
    // libcurl's multi interface for grpc probes (HTTP/2), made when the first one is.
    std::unique_ptr<curl_multi> grpc_multi_;
    child_process_runner runner_;
    // One socket per family for every icmp check.
    icmp_socket icmp4_;
    icmp_socket icmp6_;
    // The one wake-up for every probe; on the clock seam, so tests run the engine on simulated
    // time.
    std::unique_ptr<clock_timer> timer_;
    std::unordered_map<std::string_view, std::unique_ptr<server>> servers_;
    std::unordered_map<probe_id, std::unique_ptr<probe_slot>> probes_;
    std::unordered_map<probe_key, probe_id, probe_key_hash> probe_by_key_;
    probe_id next_probe_ = 1;
    std::size_t max_running_;
    flap_spec flap_spec_;
    std::size_t running_ = 0;
    bool more_starts_posted_ = false;
    std::uint64_t generation_ = 0;  // of update() / update_in_turns()
    std::size_t named_ = 0;         // servers the current generation named
    std::optional<time_point> overload_logged_at_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    counters counters_;
};

}  // namespace vigil::checkers
