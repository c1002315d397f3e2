#include "supervisor.hpp"

#include <boost/asio/post.hpp>
#include <filesystem>
#include <string_view>
#include <unordered_set>

#include "checker_specs.hpp"
#include "ipvs/memory_backend.hpp"
#include "ipvs/netlink_backend.hpp"
#include "ipvs_specs.hpp"
#include "status_document.hpp"
#include "vrrp_specs.hpp"

namespace vigil {

supervisor::supervisor(boost::asio::any_io_executor executor, event_log& log, clock_source& clock,
                       random_source& random)
    : executor_(std::move(executor)),
      log_(log),
      clock_(clock),
      random_(random),
      vrrp_(std::make_unique<vrrp_thread>(executor_, log_)) {
    vrrp_->on_state_change(
        [this](const std::string& instance, vrrp::state to) { on_vrrp_state(instance, to); });
}

supervisor::~supervisor() {
    bgp_.reset();
    // What logs goes first, checks before the routers and the reconciler they feed.
    health_monitor_.reset();
    vrrp_.reset();
    reconciler_.reset();
    // Runs what is still queued (each call bounded) before the backend goes.
    ipvs_worker_.reset();
}

bool supervisor::start(const config::configuration& config) {
    auto drained = drain_list::load(config.global.state_dir);
    if (drained) {
        drained_ = std::move(*drained);
    } else {
        // Refusing to start would take a director down for a state file; drains are lost, said
        // loudly, and the next drain rewrites the file.
        log_.error("drain.load_failed", {{"file", config.global.state_dir + "/drained"},
                                         {"error", drained.error().message()}});
        drained_.emplace(config.global.state_dir);
    }
    if (!apply_ipvs(config, virtual_server_specs(config)) || !apply_vrrp(config)) {
        return false;
    }
    apply_checks(config, checked_real_servers(config));
    return apply_bgp(config);
}

supervisor::engine_specs supervisor::specs_of(const config::configuration& config) {
    return {checked_real_servers(config), virtual_server_specs(config), instance_specs(config),
            sync_group_specs(config)};
}

boost::system::result<supervisor::prepared_reload, std::vector<std::string>> supervisor::prepare(
    const config::configuration& config, engine_specs specs) {
    prepared_reload change;
    std::vector<std::string> errors;
    if (auto backend = open_ipvs_backend(config)) {
        change.ipvs_backend = std::move(*backend);
    } else {
        errors.push_back("ipvs: the netlink backend cannot be opened: " + backend.error());
    }
    auto instances = std::move(specs.instances);
    auto groups = std::move(specs.sync_groups);
    change.specs.checks = std::move(specs.checks);
    change.specs.virtual_servers = std::move(specs.virtual_servers);
    // A first instance makes the (empty) instance set: kept if the rest of the reload is refused.
    if (!vrrp_->opened() && !instances.empty()) {
        if (auto error = vrrp_->open()) {
            errors.push_back("vrrp: " + *error);
        }
    }
    if (vrrp_->opened()) {
        auto prepared = vrrp_->prepare(std::move(instances), std::move(groups));
        if (prepared) {
            change.vrrp_change.emplace(std::move(*prepared));
        } else {
            auto why = prepared.error();  // a copy: result::error() returns by value
            errors.insert(errors.end(), why.begin(), why.end());
        }
    }
    if (bgp_announcer::wanted(config) && (!bgp_ || bgp_->link_needed(config))) {
        announce::liveness_link link;
        if (auto error = link.open(config.global.bgp.liveness_interface)) {
            errors.push_back("bgp: the liveness interface " + config.global.bgp.liveness_interface +
                             " cannot be created: " + announce::liveness_link::device + ": " +
                             error.message());
        } else {
            change.bgp_link.emplace(std::move(link));
        }
    }
    if (!errors.empty()) {
        return {boost::system::in_place_error, std::move(errors)};
    }
    return change;
}

void supervisor::commit(prepared_reload change, const config::configuration& config) {
    commit_checks(change, config);
    commit_ipvs(change, config);
    commit_vrrp(change);
    commit_bgp(change, config);
}

void supervisor::commit_in_turns(prepared_reload change, const config::configuration& config,
                                 std::function<void()> committed) {
    auto held = std::make_shared<prepared_reload>(std::move(change));
    commit_checks(*held, config, [this, held, &config, committed = std::move(committed)] {
        // A turn of its own: the last batch of checks may just have run on this one.
        boost::asio::post(executor_, [this, held, &config, committed] {
            if (!shut_down_) {
                commit_ipvs(*held, config);
            }
            boost::asio::post(executor_, [this, held, &config, committed] {
                if (!shut_down_) {
                    commit_vrrp(*held);
                    commit_bgp(*held, config);
                }
                committed();
            });
        });
    });
}

void supervisor::commit_checks(prepared_reload& change, const config::configuration& config,
                               std::function<void()> done) {
    drained_->move_to(config.global.state_dir);
    apply_checks(config, std::move(change.specs.checks), std::move(done));
}

void supervisor::commit_ipvs(prepared_reload& change, const config::configuration& config) {
    apply_ipvs(config, std::move(change.specs.virtual_servers), std::move(change.ipvs_backend));
}

void supervisor::commit_vrrp(prepared_reload& change) {
    if (change.vrrp_change) {
        vrrp_->commit(std::move(*change.vrrp_change));
    }
}

// After IPVS: the announcements read the quorum of the new virtual servers.
void supervisor::commit_bgp(prepared_reload& change, const config::configuration& config) {
    apply_bgp(config, std::move(change.bgp_link));
}

bool supervisor::apply_bgp(const config::configuration& config,
                           std::optional<announce::liveness_link> opened) {
    announced_real_servers_.clear();
    for (const auto& vs : config.virtual_servers) {
        if (vs.announce) {
            auto& names = announced_real_servers_[vs.name];
            for (const auto& rs : vs.real_servers) {
                names.push_back(rs.name);
            }
        }
    }
    if (!bgp_) {
        if (!bgp_announcer::wanted(config)) {
            return true;
        }
        bgp_ = std::make_unique<bgp_announcer>(
            executor_, log_, clock_,
            [this](const std::string& vs) { return announcement_health(vs); });
        if (drained_ && drained_->node_drained()) {
            // Drained before a restart: nothing is announced until `vigil undrain-node`.
            bgp_->set_node_mode(announce::node_mode::draining);
            log_.warning("node.draining", {{"reason", "drained before the restart"},
                                           {"file", drained_->file().string()}});
        }
    }
    return bgp_->configure(config, std::move(opened));
}

bgp_announcer::virtual_server_health supervisor::announcement_health(const std::string& vs) const {
    bgp_announcer::virtual_server_health out;
    if (reconciler_) {
        auto states = reconciler_->virtual_servers();
        if (auto it = states.find(vs); it != states.end()) {
            out.quorum_up = it->second.quorum_up;
        }
    }
    out.drained = drained_ && drained_->contains(vs);
    if (auto it = announced_real_servers_.find(vs); it != announced_real_servers_.end()) {
        for (const auto& rs : it->second) {
            auto health = health_.find(rs);
            bool down = health != health_.end() && !health->second.up;
            if (down || (drained_ && drained_->contains(rs))) {
                ++out.servers_down;
            }
        }
    }
    return out;
}

boost::system::result<std::chrono::milliseconds> supervisor::set_node_draining(bool draining) {
    if (!bgp_) {
        return std::chrono::milliseconds(0);
    }
    if (auto written = drained_->set_node_drained(draining); !written) {
        return written.error();
    }
    bgp_->set_node_mode(draining ? announce::node_mode::draining : announce::node_mode::serving);
    return draining ? bgp_->drain_wait() : std::chrono::milliseconds(0);
}

std::chrono::milliseconds supervisor::withdraw_announcements() {
    if (!bgp_) {
        return std::chrono::milliseconds(0);
    }
    bgp_->set_node_mode(announce::node_mode::stopping);
    return bgp_->drain_wait();
}

bool supervisor::reconfigure(const config::configuration& config) {
    auto prepared = prepare(config, specs_of(config));
    if (!prepared) {
        for (const auto& error : prepared.error()) {
            log_.error("vrrp.start_failed", {{"error", error}});
        }
        return false;
    }
    commit(std::move(*prepared), config);
    return true;
}

boost::system::result<std::unique_ptr<ipvs::backend>, std::string> supervisor::open_ipvs_backend(
    const config::configuration& config) const {
    std::unique_ptr<ipvs::backend> none;
    if (reconciler_) {
        return none;
    }
    if (config.virtual_servers.empty() && !reconciler_spec(config).sync_daemon_settings) {
        return none;  // nothing to program; the kernel need not have IPVS
    }
    if (config.global.ipvs.backend == config::ipvs_backend_choice::memory) {
        return std::unique_ptr<ipvs::backend>(std::make_unique<ipvs::memory_backend>());
    }
    // Never a silent fallback: a director whose kernel has no IPVS must not look healthy.
    auto opened = ipvs::netlink_backend::open();
    if (!opened.backend) {
        return {boost::system::in_place_error, opened.error};
    }
    return std::unique_ptr<ipvs::backend>(std::move(opened.backend));
}

bool supervisor::apply_ipvs(const config::configuration& config,
                            std::vector<ipvs::virtual_server_spec> specs,
                            std::unique_ptr<ipvs::backend> opened) {
    auto settings = reconciler_spec(config);
    sync_daemon_instance_ = sync_daemon_instance(config);
    if (!reconciler_) {
        if (!opened) {
            auto backend = open_ipvs_backend(config);
            if (!backend) {
                log_.error("ipvs.start_failed",
                           {{"backend", "netlink"}, {"error", backend.error()}});
                return false;
            }
            opened = std::move(*backend);
        }
        if (!opened) {
            return true;  // nothing to program
        }
        ipvs_backend_ = std::move(opened);
        std::error_code ignored;
        std::filesystem::create_directories(config.global.state_dir, ignored);
        // The kernel's calls go to a thread of their own; the memory backend answers at once,
        // in process, so it needs none (and stays deterministic under a manual clock).
        auto threading = config.global.ipvs.backend == config::ipvs_backend_choice::memory
                             ? ipvs::backend_worker::threading::inline_calls
                             : ipvs::backend_worker::threading::own_thread;
        ipvs_worker_ = std::make_unique<ipvs::backend_worker>(*ipvs_backend_, executor_, threading);
        reconciler_ = std::make_unique<ipvs::reconciler>(clock_, *ipvs_worker_, log_, settings);
        reconciler_->set_specs(std::move(specs));
        for (const auto& name : drained_->names()) {
            if (name.find('/') != std::string::npos) {
                push_health(name);
            }
        }
        reconciler_->start();
        return true;
    }
    // Reload: the reconciler recomputes only the virtual servers whose spec changed.
    reconciler_->set_spec(settings);
    reconciler_->set_specs(std::move(specs));
    for (const auto& name : drained_->names()) {
        if (name.find('/') != std::string::npos) {
            push_health(name);
        }
    }
    return true;
}

void supervisor::apply_checks(const config::configuration& config,
                              std::vector<checkers::checked_server_spec> servers,
                              std::function<void()> done) {
    if (!health_monitor_) {
        health_.clear();
        if (servers.empty()) {
            if (done) {
                done();
            }
            return;
        }
        health_monitor_ = std::make_unique<checkers::health_monitor>(
            executor_, log_, random_, clock_,
            [this](const checkers::health_change& change) { on_health_change(change); });
    }
    health_monitor_->set_flap_spec({config.global.flap_threshold, config.global.flap_window});
    if (!done) {
        // Health of real servers that left the config is forgotten (a set: 10,000 real servers
        // compared pairwise held the loop for most of a second).
        std::unordered_set<std::string_view> names;
        names.reserve(servers.size());
        for (const auto& s : servers) {
            names.insert(s.name);
        }
        std::erase_if(health_, [&](const auto& entry) { return !names.contains(entry.first); });
        health_monitor_->update(std::move(servers));
        return;
    }
    health_monitor_->update_in_turns(
        std::move(servers), [this, done = std::move(done)](std::vector<std::string> removed) {
            for (const auto& name : removed) {
                health_.erase(name);  // its health is forgotten with it
            }
            done();
        });
}

bool supervisor::apply_vrrp(const config::configuration& config) {
    auto instances = instance_specs(config);
    if (instances.empty()) {
        return true;
    }
    if (auto error = vrrp_->open()) {
        log_.error("vrrp.start_failed", {{"error", *error}});
        return false;
    }
    if (auto error = vrrp_->start(std::move(instances), sync_group_specs(config))) {
        log_.error("vrrp.start_failed", {{"error", *error}});
        return false;
    }
    return true;
}

void supervisor::on_vrrp_state(const std::string& instance, vrrp::state to) {
    // keepalived's lvs_sync_daemon: master daemon while MASTER, backup otherwise.
    if (reconciler_ && sync_daemon_instance_ == instance) {
        reconciler_->set_sync_mode(to == vrrp::state::master       ? ipvs::sync_mode::master
                                   : to == vrrp::state::initialize ? ipvs::sync_mode::none
                                                                   : ipvs::sync_mode::backup);
    }
}

void supervisor::on_health_change(const checkers::health_change& change) {
    health_[change.real_server] =
        ipvs::real_server_health{change.state == checkers::health::up, change.weight};
    push_health(change.real_server);
}

void supervisor::push_health(const std::string& real_server) {
    if (!reconciler_) {
        return;
    }
    // A drained real server stays in the table at weight 0: established connections finish,
    // new ones go elsewhere. Its health still decides whether it is there at all.
    ipvs::real_server_health health;
    if (auto it = health_.find(real_server); it != health_.end()) {
        health = it->second;
    }
    if (drained_->contains(real_server)) {
        health.weight = 0;
    }
    reconciler_->set_health(real_server, health);
    if (bgp_) {
        bgp_->evaluate();  // the quorum behind an announcement may have moved
    }
}

boost::system::result<bool> supervisor::set_drained(const std::string& real_server, bool drained) {
    auto changed = drained_->set(real_server, drained);
    if (changed && *changed) {
        log_.info(drained ? "real_server.drained" : "real_server.undrained",
                  {{"real_server", real_server}});
        if (real_server.find('/') == std::string::npos) {
            if (bgp_) {
                bgp_->evaluate();  // a whole virtual server: its announcement
            }
        } else {
            push_health(real_server);
        }
    }
    return changed;
}

void supervisor::shutdown() {
    shut_down_ = true;
    health_monitor_.reset();  // no more probes: the loop is winding down
    if (reconciler_) {
        reconciler_->shutdown();
    }
    // Masters resign (priority 0) so a backup takes over after Skew_Time, not after
    // Master_Down_Interval, and the VIPs leave this node.
    vrrp_->shutdown();
}

bool supervisor::notifying() const {
    return vrrp_->notifying() || (reconciler_ && reconciler_->shutting_down());
}

bool supervisor::synced() const {
    return !reconciler_ || reconciler_->last_report().has_value();
}

std::vector<vrrp::instance_status> supervisor::vrrp_status() const {
    return vrrp_->status();
}

void supervisor::add_status(status_snapshot& snapshot) const {
    snapshot.mono_now = clock_.now();
    snapshot.wall_now = std::chrono::system_clock::now();
    if (health_monitor_) {
        snapshot.real_servers = health_monitor_->status();
    }
    snapshot.drained = drained_->names();
    if (reconciler_) {
        // From the reconciler's view of the kernel: a status request never waits for a dump.
        snapshot.ipvs = reconciler_->status();
    }
    if (bgp_) {
        snapshot.bgp = bgp_->status();
    }
}

void supervisor::add_metrics(metrics::scrape_inputs& inputs) const {
    inputs.vrrp = vrrp_status();
    if (health_monitor_) {
        inputs.real_servers = health_monitor_->status();
        inputs.checker = health_monitor_->stats();
    }
    if (drained_) {
        inputs.drained = drained_->names();
    }
    if (reconciler_) {
        inputs.ipvs = metrics::ipvs_facts::of(*reconciler_);
    }
    if (bgp_) {
        inputs.bgp = true;
        inputs.bgp_prefixes = bgp_->announced();
    }
}

}  // namespace vigil
