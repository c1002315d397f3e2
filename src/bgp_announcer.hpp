#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "announce/announcement.hpp"
#include "announce/announcement_policy.hpp"
#include "announce/bird_control.hpp"
#include "announce/bird_reply.hpp"
#include "announce/liveness_link.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "config/model.hpp"
#include "vrrp/address_effects.hpp"

namespace vigil {

// The BGP announcements of this director, through the operator's BIRD 2: the shell around
// announce/'s cores. Per prefix a policy decides announced or withdrawn (quorum, drains, the
// node's mode, hold-down); the decisions are rendered into the include file BIRD reads, written
// durably, and BIRD is told to `configure`. The routes go via the liveness link, a TUN device
// this process holds: it is up only while BIRD has accepted the current file and the node
// serves, so a refused configure, an unreachable BIRD, a drain or a stop withdraw everything at
// once, and vigil's death (even SIGKILL) deletes the device and BIRD withdraws within
// milliseconds. The VIPs are put on `vip_interface` so IPVS accepts their traffic, and kept there
// while withdrawn. Every I/O is asynchronous or a single bounded kernel call.
class bgp_announcer {
  public:
    // What the engines say about one virtual server (read afresh on every evaluation).
    struct virtual_server_health {
        bool quorum_up = true;
        bool drained = false;
        unsigned servers_down = 0;
    };
    using health_source = std::function<virtual_server_health(const std::string& virtual_server)>;

    bgp_announcer(boost::asio::any_io_executor executor, event_log& log, clock_source& clock,
                  health_source health);
    ~bgp_announcer();
    bgp_announcer(const bgp_announcer&) = delete;
    bgp_announcer& operator=(const bgp_announcer&) = delete;

    // Whether a config needs the announcer at all.
    static bool wanted(const config::configuration& config);
    // Start and reload: the announcements of the config (an unchanged prefix keeps its policy
    // and hold-down). Opens the liveness link on first use; false when it cannot (logged).
    // `opened`: a liveness link a reload's prepare step already created (see link_needed).
    bool configure(const config::configuration& config,
                   std::optional<announce::liveness_link> opened = std::nullopt);
    // Whether this config needs a liveness link the announcer does not hold yet (a first
    // announcement, or a renamed device): a reload creates it before committing.
    bool link_needed(const config::configuration& config) const {
        return !link_.is_open() || link_.name() != config.global.bgp.liveness_interface;
    }
    // Something an announcement depends on may have changed: evaluate them all.
    void evaluate();
    // drain-node / undrain-node, and stopping (never undone).
    void set_node_mode(announce::node_mode mode);
    announce::node_mode mode() const { return mode_; }
    std::chrono::milliseconds drain_wait() const { return settings_.drain_wait; }
    // Whether a virtual server's prefix is announced by config.
    bool announces(const std::string& virtual_server) const;

    boost::json::object status_json() const;
    // prefix → 1 announced, 0 withdrawn (for the metrics gauge).
    std::vector<std::pair<std::string, bool>> announced() const;

  private:
    struct entry {
        announce::announcement_spec spec;
        announce::announcement_policy policy;
        announce::announcement_decision decision;
        // What was last logged as in effect (bgp.announced / bgp.withdrawn), and since when.
        std::optional<bool> logged_announced;
        std::string reason;
        std::chrono::system_clock::time_point since;
        // The first bgp.announced says why the prefix exists ("startup", "reload").
        std::string initial_reason;
        bool announced_once = false;
    };

    void render_and_push();
    void on_configured(const std::string& text, announce::bird_control::outcome outcome);
    void poll();
    void on_polled(announce::bird_control::outcome outcome);
    void arm_poll(std::chrono::milliseconds after);
    void update_link();
    void log_effects(const char* reason_if_announced);
    void bird_failed(const std::string& error);
    void place_vips(const config::configuration& config);

    boost::asio::any_io_executor executor_;
    event_log& log_;
    clock_source& clock_;
    health_source health_;
    config::bgp_settings settings_;
    std::vector<entry> entries_;
    announce::node_mode mode_ = announce::node_mode::serving;
    announce::liveness_link link_;
    std::unique_ptr<announce::bird_control> bird_;
    std::unique_ptr<clock_timer> poll_timer_;
    std::unique_ptr<clock_timer> hold_timer_;
    // The file BIRD last accepted; what is written and waits for its answer.
    std::optional<std::string> accepted_;
    std::optional<std::string> in_flight_;
    bool push_again_ = false;
    // BIRD's last answer was a failure (unreachable or refused).
    bool bird_ok_ = false;
    // The last `show protocols` was answered.
    bool protocols_reachable_ = false;
    std::string last_error_;
    std::vector<announce::bird_protocol> protocols_;
    std::optional<std::chrono::system_clock::time_point> protocols_at_;
    // VIPs vigil put on vip_interface.
    std::unique_ptr<vrrp::netlink_effects> addresses_;
    std::vector<ip_prefix> placed_vips_;
    std::string first_event_reason_ = "startup";
};

}  // namespace vigil
