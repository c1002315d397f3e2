#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "base/child_process.hpp"
#include "base/event_log.hpp"
#include "vrrp/address_effects.hpp"
#include "vrrp/announcement_sender.hpp"
#include "vrrp/announcer.hpp"
#include "vrrp/election.hpp"
#include "vrrp/link_monitor.hpp"
#include "vrrp/notify_spec.hpp"
#include "vrrp/sync_group.hpp"
#include "vrrp/tracker_spec.hpp"
#include "vrrp/tracking.hpp"

namespace vigil::vrrp {

// Everything one VRRP instance needs to run on a node.
struct instance_spec {
    std::string name;
    std::string interface;
    std::uint8_t virtual_router_id = 0;
    std::vector<ip_prefix> vips;
    std::optional<ip_address> unicast_source;
    // The election settings; primary_address is filled in from the interface (or unicast_source)
    // when the router starts.
    election_spec election;
    announce_spec announce;
    std::vector<interface_tracker_spec> track_interfaces;
    std::vector<script_tracker_spec> track_scripts;
    std::vector<file_tracker_spec> track_files;
    notify_spec notify;
    // The VRRP virtual MAC on a macvlan child (keepalived's use_vmac); name default vrrp.VRID.
    bool use_vmac = false;
    std::string vmac_name;

    address_family family() const { return vips.front().family(); }
    bool operator==(const instance_spec&) const = default;
};

bool same_settings(const instance_spec& a, const instance_spec& b);

struct instance_status {
    std::string name;
    std::string interface;
    std::uint8_t virtual_router_id = 0;
    protocol_version version = protocol_version::v2;
    state current = state::initialize;
    std::chrono::system_clock::time_point since;
    std::uint8_t priority = 0;             // effective
    std::uint8_t configured_priority = 0;  // from the config
    std::optional<ip_address> master;
    duration advert_interval{0};         // ours
    duration master_advert_interval{0};  // the one the election runs on
    std::vector<ip_prefix> vips;
    std::uint64_t adverts_sent = 0;
    std::uint64_t adverts_received = 0;
    std::uint64_t transitions = 0;
    std::map<std::string, std::uint64_t> dropped;  // by reason
    std::vector<tracker_state> trackers;
    std::optional<std::string> sync_group;
};

struct sync_group_spec {
    std::string name;
    std::vector<std::string> instances;
    friend bool operator==(const sync_group_spec&, const sync_group_spec&) = default;
};

// The VRRP side of one daemon: one router per configured instance, one raw socket per interface
// and address family shared by the routers on it, link state from rtnetlink.
class instance_set {
  public:
    instance_set(boost::asio::any_io_executor executor, event_log& log, address_effects& effects);
    ~instance_set();
    instance_set(const instance_set&) = delete;
    instance_set& operator=(const instance_set&) = delete;

    // Starts every router. Fails (with why) only for what retrying cannot fix, such as missing
    // privileges for raw sockets; a missing interface just keeps its routers in FAULT.
    std::optional<std::string> start(std::vector<instance_spec> routers,
                                     std::vector<sync_group_spec> groups = {});
    // Applies a new set of routers: an unchanged one keeps running untouched (a master stays
    // master and keeps its VIPs), as does one whose priority or notify programs changed (updated
    // in place); any other change restarts it; a removed one resigns.
    std::optional<std::string> reconfigure(std::vector<instance_spec> routers,
                                           std::vector<sync_group_spec> groups = {});
    // Every master resigns (priority 0) and releases its VIPs; notify_stop programs are queued.
    void shutdown();
    // Notify programs or tracker scripts are still running (the daemon waits for notifies on
    // its way out, up to their timeout).
    bool notifying() const;

    std::vector<instance_status> status() const;

    // Told of every state an instance enters (after its own actions): the daemon drives the IPVS
    // connection sync daemon from it.
    using state_listener = std::function<void(const std::string& instance, state to)>;
    void on_state_change(state_listener listener) { state_listener_ = std::move(listener); }

    class router;
    struct interface_state;

  private:
    interface_state* interface_for(const std::string& name);
    std::optional<std::string> open_sockets(interface_state& iface, address_family family);
    void on_link_event(const link_monitor::link_event& event);
    void refresh_interface(interface_state& iface);
    void start_router(const instance_spec& config);
    void build_groups();
    // Lets the sync group of `from` react to the actions its core just produced.
    void react_group(router& from, const actions& produced);
    void watch_file(router& owner, std::size_t tracker, const std::string& path);
    void unwatch_files(router& owner);
    void on_file_events();

    boost::asio::any_io_executor executor_;
    event_log& log_;
    address_effects& effects_;
    std::unique_ptr<link_monitor> links_;
    state_listener state_listener_;
    child_process_runner runner_;
    std::vector<sync_group_spec> group_configs_;
    std::vector<std::unique_ptr<sync_group>> groups_;
    // track_file: one inotify descriptor, watching the folders of the tracked files.
    struct file_watch;
    std::unique_ptr<file_watch> files_;
    std::map<std::string, std::unique_ptr<interface_state>> interfaces_;
    std::vector<std::unique_ptr<router>> routers_;
};

}  // namespace vigil::vrrp
