#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "announce/liveness_link.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "base/random_source.hpp"
#include "bgp_announcer.hpp"
#include "checkers/health_monitor.hpp"
#include "config/model.hpp"
#include "drain_list.hpp"
#include "ipvs/backend.hpp"
#include "ipvs/backend_worker.hpp"
#include "ipvs/desired.hpp"
#include "ipvs/reconciler.hpp"
#include "metrics/scrape.hpp"
#include "status_document.hpp"
#include "vrrp/instance_set.hpp"
#include "vrrp_thread.hpp"

namespace vigil {

// Wires the engines together on one loop (VRRP on a thread of its own, see vrrp_thread): health
// results and drains feed the IPVS reconciler, the VRRP state of the sync instance drives the
// connection-sync daemon. It owns the engines; the daemon owns the process around them (signals,
// control socket, reload, log, systemd).
//
// One health result walks: probe → health_monitor → supervisor::on_health_change →
// reconciler::set_health, each a direct call on the same loop turn; the reconciler hands the
// operation to the IPVS worker thread, so the kernel's answer never holds up the loop.
class supervisor {
  public:
    // VRRP's thread starts here, scheduled as the calling thread is (see vrrp_thread).
    supervisor(boost::asio::any_io_executor executor, event_log& log, clock_source& clock,
               random_source& random);
    ~supervisor();
    supervisor(const supervisor&) = delete;
    supervisor& operator=(const supervisor&) = delete;

    // The first config. IPVS first, so the table is programmed whichever VRRP state this node
    // ends up in, then VRRP, then the checks. False when an engine cannot start (logged).
    bool start(const config::configuration& config);
    // What a config asks of each engine, derived from the config alone. At 10,000 real servers
    // it takes long enough to delay adverts, so a reload derives it on its worker thread.
    struct engine_specs {
        std::vector<checkers::checked_server_spec> checks;
        std::vector<ipvs::virtual_server_spec> virtual_servers;
        std::vector<vrrp::instance_spec> instances;
        std::vector<vrrp::sync_group_spec> sync_groups;
    };
    static engine_specs specs_of(const config::configuration& config);
    // A validated new config, made ready to apply: everything that can fail is done here (VRRP
    // sockets for new and restarted instances, a first IPVS backend or route netlink socket),
    // and nothing running is touched. Dropping it uncommitted releases what it opened.
    struct prepared_reload {
        engine_specs specs;
        std::unique_ptr<ipvs::backend> ipvs_backend;  // opened for a first IPVS table
        std::optional<vrrp_thread::prepared> vrrp_change;
        // BGP: the liveness device a first announcement (or a renamed one) needs.
        std::optional<announce::liveness_link> bgp_link;
    };
    // `specs` are specs_of(config). Fails with one line per reason the config cannot apply.
    boost::system::result<prepared_reload, std::vector<std::string>> prepare(
        const config::configuration& config, engine_specs specs);
    // Applies a reload prepared from `config`, which cannot fail: only what changed is touched
    // (see the README's Reload).
    void commit(prepared_reload change, const config::configuration& config);
    // The same spread over three loop turns (checks; IPVS; VRRP then BGP, which reads the quorum
    // the new IPVS specs give), so that at 10,000 real servers
    // no one turn holds up an advert for all of it; `committed` is called on the last. Nothing
    // can fail on the way, so it is still all or nothing: a reload that was prepared is applied
    // whole, only a status asked for in between sees the engines part-way (each one
    // consistent). `config` must stay where it is until then (the daemon's config in force).
    void commit_in_turns(prepared_reload change, const config::configuration& config,
                         std::function<void()> committed);
    // prepare() then commit(); false (logged as vrrp.start_failed) when prepare() failed.
    bool reconfigure(const config::configuration& config);
    // Stops the checks, applies the IPVS shutdown policy, and masters resign.
    void shutdown();
    // Work the daemon waits for on its way out (bounded by its grace period): notify programs or
    // tracker scripts still running, and the IPVS shutdown policy not yet answered by the kernel.
    bool notifying() const;
    // The first IPVS reconcile has run (at once without IPVS): systemd's READY.
    bool synced() const;

    // Drains or undrains a real server of the config in force, or (a name without '/') a whole
    // announced virtual server: its prefix is withdrawn. The error says why not.
    boost::system::result<bool> set_drained(const std::string& real_server, bool drained);
    // BGP: whether the virtual server is announced; drain-node / undrain-node; and the start of
    // a graceful stop (every prefix withdrawn at once). Each returns how long to wait for the
    // routers (drain_wait), zero without announcements. A node drain is kept in the drain list,
    // so it outlives a restart; one that cannot be written is refused (the error says why).
    bool announces(const std::string& virtual_server) const {
        return bgp_ && bgp_->announces(virtual_server);
    }
    boost::system::result<std::chrono::milliseconds> set_node_draining(bool draining);
    std::chrono::milliseconds withdraw_announcements();

    // The engines' sections of `vigil status` (real_servers, drained, ipvs, bgp), copied into the
    // snapshot that is rendered off the loop.
    void add_status(status_snapshot& snapshot) const;
    std::vector<vrrp::instance_status> vrrp_status() const;
    // Null while IPVS is not programmed (no virtual servers).
    const ipvs::reconciler* reconciler() const { return reconciler_.get(); }
    // What a metrics scrape reads from the engines (the daemon adds its own facts), copied: the
    // text is written off the loop.
    void add_metrics(metrics::scrape_inputs& inputs) const;

  private:
    // The backend a first IPVS table needs, or why it cannot be had; none when the config needs
    // no IPVS or the reconciler already runs.
    boost::system::result<std::unique_ptr<ipvs::backend>, std::string> open_ipvs_backend(
        const config::configuration& config) const;
    bool apply_ipvs(const config::configuration& config,
                    std::vector<ipvs::virtual_server_spec> specs,
                    std::unique_ptr<ipvs::backend> opened = nullptr);
    bool apply_vrrp(const config::configuration& config);
    // At start `done` is empty and the checks are set up at once; on a reload they are updated
    // over several loop turns (see health_monitor::update_in_turns) and `done` follows.
    void apply_checks(const config::configuration& config,
                      std::vector<checkers::checked_server_spec> servers,
                      std::function<void()> done = {});
    void commit_checks(prepared_reload& change, const config::configuration& config,
                       std::function<void()> done = {});
    void commit_ipvs(prepared_reload& change, const config::configuration& config);
    void commit_vrrp(prepared_reload& change);
    void commit_bgp(prepared_reload& change, const config::configuration& config);
    void on_health_change(const checkers::health_change& change);
    void on_vrrp_state(const std::string& instance, vrrp::state to);
    // Hands the reconciler one real server's health as IPVS should see it: drained is weight 0.
    void push_health(const std::string& real_server);
    bool apply_bgp(const config::configuration& config,
                   std::optional<announce::liveness_link> opened = std::nullopt);
    bgp_announcer::virtual_server_health announcement_health(const std::string& vs) const;

    boost::asio::any_io_executor executor_;
    event_log& log_;
    clock_source& clock_;
    random_source& random_;
    std::optional<drain_list> drained_;
    // VRRP, on its own thread; its instance set is made with the first instance configured.
    std::unique_ptr<vrrp_thread> vrrp_;
    // IPVS: the backend outlives the worker thread that calls it, and the worker the reconciler
    // that sends it requests.
    std::unique_ptr<ipvs::backend> ipvs_backend_;
    std::unique_ptr<ipvs::backend_worker> ipvs_worker_;
    std::unique_ptr<ipvs::reconciler> reconciler_;
    // What the checks last said, kept to re-apply it when a drain ends.
    ipvs::health_map health_;
    std::optional<std::string> sync_daemon_instance_;
    std::unique_ptr<checkers::health_monitor> health_monitor_;
    // BGP announcements (only when a virtual server has `announce`), and each announced virtual
    // server's real servers (for the MED per server down).
    std::unique_ptr<bgp_announcer> bgp_;
    std::map<std::string, std::vector<std::string>, std::less<>> announced_real_servers_;
    bool shut_down_ = false;  // a reload committing in turns stops
};

}  // namespace vigil
