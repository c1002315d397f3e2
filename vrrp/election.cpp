#include "vrrp/election.hpp"

#include <algorithm>

namespace vigil::vrrp {

namespace {

// How often a master re-asserts itself to a lower-priority master it hears.
constexpr auto reassert_interval = std::chrono::seconds(1);

}  // namespace

std::string_view to_string(state s) {
    switch (s) {
        case state::initialize:
            return "INIT";
        case state::backup:
            return "BACKUP";
        case state::master:
            return "MASTER";
        case state::fault:
            return "FAULT";
    }
    return "?";
}

std::string_view to_string(transition_reason reason) {
    switch (reason) {
        case transition_reason::startup:
            return "startup";
        case transition_reason::address_owner:
            return "address_owner";
        case transition_reason::master_down:
            return "master_down";
        case transition_reason::preempt:
            return "preempt";
        case transition_reason::higher_priority:
            return "higher_priority";
        case transition_reason::link_down:
            return "link_down";
        case transition_reason::link_up:
            return "link_up";
        case transition_reason::tracker_fault:
            return "tracker_fault";
        case transition_reason::tracker_recovered:
            return "tracker_recovered";
        case transition_reason::sync_group:
            return "sync_group";
        case transition_reason::shutdown:
            return "shutdown";
    }
    return "?";
}

std::string_view to_string(drop_reason reason) {
    switch (reason) {
        case drop_reason::bad_ttl:
            return "bad_ttl";
        case drop_reason::version_mismatch:
            return "version_mismatch";
        case drop_reason::auth_mismatch:
            return "auth_mismatch";
        case drop_reason::interval_mismatch:
            return "interval_mismatch";
        case drop_reason::bad_interval:
            return "bad_interval";
        case drop_reason::address_mismatch:
            return "address_mismatch";
        case drop_reason::own_advert:
            return "own_advert";
        case drop_reason::unknown_peer:
            return "unknown_peer";
    }
    return "?";
}

election::election(election_spec config)
    : config_(std::move(config)),
      priority_(config_.priority),
      master_advert_interval_(config_.advert_interval) {}

election_timing election::timing() const {
    return compute_election_timing(config_.version, priority_, master_advert_interval_);
}

actions election::start(time_point now, bool link_up) {
    actions out;
    preempt_allowed_at_ = now + config_.preempt_delay;
    link_up_ = link_up;
    if (faulted()) {
        become_fault(!link_up_        ? transition_reason::link_down
                     : tracker_fault_ ? transition_reason::tracker_fault
                                      : transition_reason::sync_group,
                     out);
        return out;
    }
    if (priority_ == 255) {
        become_master(now, transition_reason::address_owner, out);
    } else {
        become_backup(now, transition_reason::startup, out);
    }
    return out;
}

void election::reset_master_down(time_point now) {
    deadline_ = now + timing().master_down_interval;
}

void election::become_fault(transition_reason reason, actions& out) {
    if (state_ == state::master) {
        out.push_back(remove_vips{});
    }
    out.push_back(transition{state_, state::fault, reason});
    state_ = state::fault;
    master_address_.reset();
    master_advert_interval_ = config_.advert_interval;
    wants_master_ = false;
    deadline_.reset();
}

void election::leave_fault_if_clear(time_point now, transition_reason reason, actions& out) {
    if (state_ != state::fault) {
        return;
    }
    if (!own_fault() && group_fault_) {
        out.push_back(own_fault_cleared{});
        return;
    }
    if (faulted()) {
        return;
    }
    if (priority_ == 255) {
        become_master(now, reason, out);
    } else {
        become_backup(now, reason, out);
    }
}

void election::become_master(time_point now, transition_reason reason, actions& out) {
    // RFC 5798 6.4.1/6.4.2: advertise, take the addresses, announce them, then time adverts.
    out.push_back(send_advert{priority_});
    out.push_back(add_vips{});
    out.push_back(announce{});
    out.push_back(transition{state_, state::master, reason});
    state_ = state::master;
    master_address_ = config_.primary_address;
    master_advert_interval_ = config_.advert_interval;
    lower_master_seen_ = false;
    wants_master_ = false;
    deadline_ = now + config_.advert_interval;
}

void election::become_backup(time_point now, transition_reason reason, actions& out) {
    if (state_ == state::master) {
        out.push_back(remove_vips{});
    }
    out.push_back(transition{state_, state::backup, reason});
    state_ = state::backup;
    lower_master_seen_ = false;
    wants_master_ = false;
    reset_master_down(now);
}

std::optional<drop_reason> election::check(const received_advert& advert) const {
    bool unicast = !config_.unicast_peers.empty();
    if (unicast) {
        if (std::find(config_.unicast_peers.begin(), config_.unicast_peers.end(), advert.source) ==
            config_.unicast_peers.end()) {
            return advert.source == config_.primary_address ? drop_reason::own_advert
                                                            : drop_reason::unknown_peer;
        }
    } else if (advert.hop_limit != 255) {
        // RFC 5798 7.1: a multicast advert that crossed a router is not from this link.
        return drop_reason::bad_ttl;
    }
    if (advert.source == config_.primary_address) {
        return drop_reason::own_advert;
    }
    if (advert.version != config_.version) {
        return drop_reason::version_mismatch;
    }
    if (advert.interval.count() == 0) {
        return drop_reason::bad_interval;
    }
    if (config_.version == protocol_version::v2) {
        std::uint8_t expected_auth = config_.auth_pass ? 1 : 0;
        if (advert.auth_type != expected_auth ||
            (config_.auth_pass && advert.auth_data != *config_.auth_pass)) {
            return drop_reason::auth_mismatch;
        }
        // RFC 3768 7.1: v2 routers must agree on the interval; v3 backups adopt the master's.
        if (advert.interval != config_.advert_interval) {
            return drop_reason::interval_mismatch;
        }
    }
    // RFC 3768 7.1: a mismatched address list is dropped unless it comes from the owner.
    // RFC 5798 leaves this to the implementation for v3; keepalived drops there too, and so do
    // we, so that a mixed pair reacts alike to a misconfigured peer.
    if (advert.priority != 255) {
        // In any order; no copies on the per-packet path.
        if (!std::is_permutation(config_.virtual_addresses.begin(), config_.virtual_addresses.end(),
                                 advert.addresses.begin(), advert.addresses.end())) {
            return drop_reason::address_mismatch;
        }
    }
    return std::nullopt;
}

bool election::sender_wins(const received_advert& advert) const {
    if (advert.priority != priority_) {
        return advert.priority > priority_;
    }
    // Equal priority: the higher primary address wins (RFC 5798 6.4.3), compared as unsigned
    // integers in network order, which is how asio orders addresses of one family.
    return config_.primary_address < advert.source;
}

actions election::on_advert(const received_advert& advert, time_point now) {
    actions out;
    if (auto reason = check(advert)) {
        out.push_back(drop{*reason});
        return out;
    }
    switch (state_) {
        case state::initialize:
        case state::fault:
            break;  // not participating
        case state::backup:
            if (advert.priority == 0) {
                // The master resigned: take over after Skew_Time unless a higher backup speaks.
                deadline_ = now + timing().skew_time;
                master_address_.reset();
                lower_master_seen_ = false;
                break;
            }
            if (advert.priority < priority_ && config_.preempt) {
                if (!lower_master_seen_) {
                    lower_master_seen_ = true;
                    preempt_allowed_at_ =
                        std::max(preempt_allowed_at_, now + config_.preempt_delay);
                }
                if (now >= preempt_allowed_at_) {
                    // Ignore the lower master: Master_Down_Timer expires and we preempt it.
                    break;
                }
            } else {
                lower_master_seen_ = false;
            }
            if (config_.version == protocol_version::v3) {
                master_advert_interval_ = advert.interval;
            }
            master_address_ = advert.source;
            wants_master_ = false;
            reset_master_down(now);
            break;
        case state::master:
            if (advert.priority == 0) {
                // Another master resigned: make sure the backups hear us at once (as rarely as a
                // re-assertion: a flood of priority 0 must not buy one advert each either).
                if (last_reassert_ == time_point{} || now - last_reassert_ >= reassert_interval) {
                    out.push_back(send_advert{priority_});
                    deadline_ = now + config_.advert_interval;
                    last_reassert_ = now;
                }
            } else if (sender_wins(advert)) {
                // Two masters: the other wins. One last advert before yielding makes the winner
                // hear a lower master and re-announce the VIPs; otherwise, when a partition
                // heals, neighbours keep the MAC our own announcements taught them.
                out.push_back(send_advert{priority_});
                if (config_.version == protocol_version::v3) {
                    master_advert_interval_ = advert.interval;
                }
                master_address_ = advert.source;
                become_backup(now, transition_reason::higher_priority, out);
            } else {
                // Two masters: a partition has healed, or a peer missed our adverts. Re-assert at
                // once, and announce the VIPs again so switches and neighbours relearn where
                // they are. At most once a second, however often the lower master speaks: each
                // of its adverts must not buy one of ours (a flood would turn us into an
                // amplifier); our regular adverts go on meanwhile.
                if (last_reassert_ == time_point{} || now - last_reassert_ >= reassert_interval) {
                    out.push_back(send_advert{priority_});
                    out.push_back(announce{});
                    deadline_ = now + config_.advert_interval;
                    last_reassert_ = now;
                }
            }
            break;
    }
    return out;
}

actions election::on_timer(time_point now) {
    actions out;
    if (!deadline_ || now < *deadline_) {
        return out;
    }
    switch (state_) {
        case state::backup:
            if (gated_ && priority_ != 255) {
                // The group decides; keep timing in case it says no.
                wants_master_ = true;
                reset_master_down(now);
                out.push_back(request_master{});
                break;
            }
            become_master(now,
                          lower_master_seen_ && config_.preempt ? transition_reason::preempt
                                                                : transition_reason::master_down,
                          out);
            break;
        case state::master:
            out.push_back(send_advert{priority_});
            deadline_ = now + config_.advert_interval;
            break;
        case state::initialize:
        case state::fault:
            deadline_.reset();
            break;
    }
    return out;
}

actions election::on_link(bool up, time_point now) {
    actions out;
    link_up_ = up;
    if (!up && state_ != state::fault && state_ != state::initialize) {
        become_fault(transition_reason::link_down, out);
    } else if (up) {
        leave_fault_if_clear(now, transition_reason::link_up, out);
    }
    return out;
}

actions election::on_tracker_fault(bool faulted_now, time_point now) {
    actions out;
    tracker_fault_ = faulted_now;
    if (faulted_now && state_ != state::fault && state_ != state::initialize) {
        become_fault(transition_reason::tracker_fault, out);
    } else if (!faulted_now) {
        leave_fault_if_clear(now, transition_reason::tracker_recovered, out);
    }
    return out;
}

actions election::force_master(time_point now) {
    actions out;
    if (state_ == state::backup) {
        become_master(now, transition_reason::sync_group, out);
    }
    return out;
}

actions election::force_backup(time_point now) {
    actions out;
    if (state_ == state::master) {
        become_backup(now, transition_reason::sync_group, out);
    }
    return out;
}

actions election::force_fault(time_point now) {
    (void)now;
    actions out;
    group_fault_ = true;
    if (state_ != state::fault && state_ != state::initialize) {
        become_fault(transition_reason::sync_group, out);
    }
    return out;
}

actions election::release_group_fault(time_point now) {
    actions out;
    group_fault_ = false;
    leave_fault_if_clear(now, transition_reason::sync_group, out);
    return out;
}

actions election::on_priority(std::uint8_t priority, time_point now) {
    actions out;
    if (priority == priority_ || priority == 0) {
        return out;
    }
    priority_ = priority;
    // A backup's skew depends on its priority; a master's next advert carries the new value.
    if (state_ == state::backup && deadline_) {
        reset_master_down(now);
    }
    return out;
}

actions election::shutdown(time_point now) {
    (void)now;
    actions out;
    if (state_ == state::master) {
        out.push_back(send_advert{0});
        out.push_back(remove_vips{});
    }
    if (state_ != state::initialize) {
        out.push_back(transition{state_, state::initialize, transition_reason::shutdown});
    }
    state_ = state::initialize;
    master_address_.reset();
    deadline_.reset();
    return out;
}

}  // namespace vigil::vrrp
