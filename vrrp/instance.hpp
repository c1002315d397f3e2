#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.hpp"
#include "base/child_process.hpp"
#include "base/clock.hpp"
#include "base/event_log.hpp"
#include "vrrp/address_effects.hpp"
#include "vrrp/advert_transport.hpp"
#include "vrrp/announcer.hpp"
#include "vrrp/election.hpp"
#include "vrrp/file_watcher.hpp"
#include "vrrp/link_state_source.hpp"
#include "vrrp/notify_queue.hpp"
#include "vrrp/notify_spec.hpp"
#include "vrrp/tracker_spec.hpp"
#include "vrrp/trackers.hpp"
#include "vrrp/vip_effects.hpp"
#include "vrrp/virtual_mac.hpp"

namespace vigil::vrrp {

// What the config asks of one [[vrrp_instance]].
struct instance_spec {
    std::string name;
    std::string interface;
    std::uint8_t virtual_router_id = 0;
    std::vector<ip_prefix> vips;
    std::optional<ip_address> unicast_source;
    // The election settings; primary_address is filled in from the interface (or unicast_source)
    // when the instance starts.
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

// Equal but for what the interface decides (the primary address).
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

// Where one instance runs: its seams and the services it shares with the other instances.
struct instance_environment {
    clock_source& clock;
    advert_transport& transport;
    address_effects& effects;
    link_state_source& links;
    event_log& log;
    child_process_runner& runner;
    file_watcher* files = nullptr;  // none: track_file trackers keep their first value
};

// The shell that runs one configured VRRP instance: it feeds the election its events (adverts,
// timers, link, trackers) and carries out the actions it returns through the seams.
class instance {
  public:
    // Told after the instance carried out actions its election produced (a sync group reacts).
    using actions_listener = std::function<void(instance&, const actions&)>;
    // Told of every state the instance enters.
    using state_listener = std::function<void(const std::string& instance, state to)>;

    instance(instance_spec spec, instance_environment environment);
    ~instance();
    instance(const instance&) = delete;
    instance& operator=(const instance&) = delete;

    void on_actions(actions_listener listener) { actions_listener_ = std::move(listener); }
    void on_state_change(state_listener listener) { state_listener_ = std::move(listener); }

    const instance_spec& spec() const { return spec_; }
    election& core() { return core_; }
    const election& core() const { return core_; }
    bool busy() const { return notify_.busy(); }
    // Where adverts leave and arrive: the VMAC for IPv4 (so they carry the virtual MAC), the base
    // interface for IPv6, whose link-local address is the advert's source (keepalived's
    // vmac_xmit_base).
    const std::string& send_interface() const;

    void start();
    // A reload changed only the priority or the notify programs.
    void update_in_place(const instance_spec& wanted);
    // An advert for this instance arrived from `source` with that TTL / hop limit.
    void on_advert(const advert& packet, const ip_address& source, int hop_limit);
    // A packet for this instance (or one it could not be told apart from) was unusable.
    void count_drop(std::string_view reason, const ip_address& source);
    // The instance's own interface changed.
    void on_link(bool up);
    // Some interface changed: a tracked one changes the priority.
    void on_tracked_link(const std::string& name, bool up);
    // Applies actions its sync group decided; the group is not asked again.
    void perform_for_group(const actions& list) { perform(list, false); }
    // Resigns (priority 0 when master), releases the VIPs, removes the VMAC.
    void shutdown();

    void set_group_name(std::optional<std::string> name) { group_name_ = std::move(name); }
    instance_status status() const;

  private:
    const std::string& vip_interface() const;
    bool prepare();
    std::optional<ip_address> pick_primary(const interface_info& info) const;
    void recompute();
    void perform(const actions& list, bool ask_group = true);
    void do_action(const send_advert& a);
    void do_action(const add_vips&);
    void do_action(const remove_vips&);
    void do_action(const announce&);
    void do_action(const transition& t);
    void do_action(const request_master&) {}
    void do_action(const own_fault_cleared&) {}
    void do_action(const drop& d);
    void send(std::uint8_t priority);
    void announce_round();
    void arm_timer();
    void on_timer();
    // One event per reason every so often, not one per failure.
    bool throttled(time_point& last);

    instance_spec spec_;
    instance_environment env_;
    virtual_mac vmac_;
    election core_;
    std::unique_ptr<clock_timer> timer_;
    announcer announcer_;
    vip_effects vips_;
    trackers trackers_;
    notify_queue notify_;
    actions_listener actions_listener_;
    state_listener state_listener_;
    std::optional<ip_address> primary_;
    bool tracker_fault_ = false;
    // The source of the advert being handled, for drop events.
    ip_address last_source_;
    std::chrono::system_clock::time_point since_ = std::chrono::system_clock::now();
    std::uint64_t adverts_sent_ = 0;
    std::uint64_t adverts_received_ = 0;
    std::uint64_t transitions_ = 0;
    std::map<std::string, std::uint64_t> dropped_;
    std::map<std::string, time_point> last_drop_event_;
    std::map<std::string, std::uint64_t> unreported_drops_;
    time_point last_send_error_{};
    std::optional<std::string> group_name_;
};

}  // namespace vigil::vrrp
