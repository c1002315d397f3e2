#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "base/address.hpp"
#include "base/clock.hpp"
#include "base/duration.hpp"
#include "vrrp/timing.hpp"

namespace vigil::vrrp {

// One VRRP router (RFC 3768 / RFC 5798 section 6) as a sans-I/O core: it takes events with the
// current time and returns the actions a shell must carry out. Every election rule lives here and
// nowhere else; the shell only moves packets, timers and addresses.

enum class state { initialize, backup, master, fault };
std::string_view to_string(state s);

enum class transition_reason {
    startup,            // Initialize -> Backup
    address_owner,      // priority 255: Initialize -> Master at once
    master_down,        // Master_Down_Timer expired: no (acceptable) master heard
    preempt,            // took over from a lower-priority master whose adverts it ignored
    higher_priority,    // a master with a higher priority, or equal priority and higher address
    link_down,          // the interface lost its link
    link_up,            // the link came back
    tracker_fault,      // a weight-0 tracker failed
    tracker_recovered,  // no tracker holds the instance in fault any more
    sync_group,         // moved with the other members of its sync group
    shutdown,           // the daemon stops (or the instance is removed)
};
std::string_view to_string(transition_reason reason);

// Why an advert that decoded fine was still not accepted; each is counted in status.
enum class drop_reason {
    bad_ttl,            // multicast advert with TTL / hop limit other than 255
    version_mismatch,   // VRRP version other than the instance's
    auth_mismatch,      // VRRPv2 authentication type or password differs
    interval_mismatch,  // VRRPv2 advert interval differs (RFC 3768 7.1)
    bad_interval,       // an advert interval of 0
    address_mismatch,   // VRRPv2 address list differs and the sender is not the owner
    own_advert,         // our own advert came back
    unknown_peer,       // unicast mode: the sender is not a configured peer
};
std::string_view to_string(drop_reason reason);

struct election_spec {
    std::uint8_t priority = 100;  // configured; 255 = address owner
    protocol_version version = protocol_version::v2;
    duration advert_interval = std::chrono::seconds(1);
    std::vector<ip_address> virtual_addresses;
    // Our address on the interface: the source of our adverts, compared on equal priority.
    ip_address primary_address;
    bool preempt = true;
    duration preempt_delay{0};
    std::optional<std::array<std::uint8_t, 8>> auth_pass;  // VRRPv2 PASS, zero-padded
    std::vector<ip_address> unicast_peers;                 // empty: multicast

    bool operator==(const election_spec&) const = default;
};

// A decoded advert with what the socket told about it.
struct received_advert {
    protocol_version version = protocol_version::v2;
    std::uint8_t priority = 0;
    duration interval{0};
    std::vector<ip_address> addresses;
    std::uint8_t auth_type = 0;
    std::array<std::uint8_t, 8> auth_data{};
    ip_address source;
    int hop_limit = 255;  // IPv4 TTL or IPv6 hop limit
};

// Actions, in the order the shell must perform them.
struct send_advert {
    std::uint8_t priority;  // 0 when resigning
};
struct add_vips {};
struct remove_vips {};
// Announce the VIPs (gratuitous ARP / unsolicited NA bursts); the shell's announcer schedules the
// repeats and stops them when mastership ends.
struct announce {};
struct transition {
    state from;
    state to;
    transition_reason reason;
};
// A sync-group member whose Master_Down_Timer expired asks its group before taking over.
struct request_master {};
// A member's own fault cause is gone but its group still holds it in FAULT.
struct own_fault_cleared {};
struct drop {
    drop_reason reason;
};
using action = std::variant<send_advert, add_vips, remove_vips, announce, transition, drop,
                            request_master, own_fault_cleared>;
using actions = std::vector<action>;

class election {
  public:
    explicit election(election_spec config);

    // Leaves Initialize: to Master for an address owner, else Backup; to Fault without link.
    actions start(time_point now, bool link_up);
    actions on_advert(const received_advert& advert, time_point now);
    // Call when deadline() has passed; an early or repeated call does nothing.
    actions on_timer(time_point now);
    actions on_link(bool up, time_point now);
    // The effective priority changed (trackers); an owner's 255 is never changed by the caller.
    actions on_priority(std::uint8_t priority, time_point now);
    // A weight-0 tracker failed (true) or none fails any more (false).
    actions on_tracker_fault(bool faulted, time_point now);

    // Sync groups. A gated member does not become master when its timer expires: it returns
    // request_master and waits, so that the group goes master together or not at all.
    void set_group_gate(bool gated) { gated_ = gated; }
    // The shell learns the primary address from the interface; it may change only while the
    // instance is not running an election (Initialize or Fault).
    void set_primary_address(const ip_address& address) {
        if (state_ == state::initialize || state_ == state::fault) {
            config_.primary_address = address;
        }
    }
    bool wants_master() const { return wants_master_; }
    actions force_master(time_point now);
    actions force_backup(time_point now);
    actions force_fault(time_point now);
    actions release_group_fault(time_point now);
    // Faulted for a reason of its own (link, tracker), not only because its group is.
    bool own_fault() const { return !link_up_ || tracker_fault_; }
    // Resign: a master sends priority 0 so a backup takes over after Skew_Time, and drops its VIPs.
    actions shutdown(time_point now);

    // When on_timer must next be called, if at all.
    std::optional<time_point> deadline() const { return deadline_; }
    state current_state() const { return state_; }
    std::uint8_t priority() const { return priority_; }
    // The master as far as this instance knows: itself when master.
    std::optional<ip_address> master_address() const { return master_address_; }
    // The interval the master advertises (v3 backups adopt it); the election timers derive from it.
    duration master_advert_interval() const { return master_advert_interval_; }
    election_timing timing() const;
    const election_spec& config() const { return config_; }

  private:
    void become_master(time_point now, transition_reason reason, actions& out);
    void become_backup(time_point now, transition_reason reason, actions& out);
    void become_fault(transition_reason reason, actions& out);
    // Leaves FAULT once no cause remains: to Master for an owner, else Backup.
    void leave_fault_if_clear(time_point now, transition_reason reason, actions& out);
    bool faulted() const { return own_fault() || group_fault_; }
    void reset_master_down(time_point now);
    std::optional<drop_reason> check(const received_advert& advert) const;
    bool sender_wins(const received_advert& advert) const;

    election_spec config_;
    state state_ = state::initialize;
    std::uint8_t priority_;
    duration master_advert_interval_;
    std::optional<time_point> deadline_;
    std::optional<ip_address> master_address_;
    // Preemption of a lower-priority master waits until then (keepalived's preempt_delay: counted
    // from startup, or from first hearing a lower-priority master).
    time_point preempt_allowed_at_{};
    bool lower_master_seen_ = false;
    // Fault causes: the instance is in FAULT while any holds.
    bool link_up_ = true;
    bool tracker_fault_ = false;
    bool group_fault_ = false;
    bool gated_ = false;
    bool wants_master_ = false;
    // A master re-asserts itself to a lower-priority master (split brain healing); announcements
    // for that are limited so a stubborn peer cannot turn them into a flood.
    time_point last_reassert_{};
};

}  // namespace vigil::vrrp
