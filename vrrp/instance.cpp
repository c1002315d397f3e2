#include "vrrp/instance.hpp"

#include <algorithm>

namespace vigil::vrrp {

// Address formatting from the base library beside this namespace's own to_string overloads.
using vigil::to_string;

namespace {

// A dropped packet or a failed send is worth one event per reason and instance every so often,
// not one per packet: a misconfigured peer at 100 adverts a second must not flood the log.
constexpr auto drop_event_interval = std::chrono::seconds(10);

const ip_address ipv4_group = boost::asio::ip::make_address("224.0.0.18");
const ip_address ipv6_group = boost::asio::ip::make_address("ff02::12");

bool is_link_local(const ip_address& a) {
    return a.is_v6() && a.to_v6().is_link_local();
}

}  // namespace

bool same_settings(const instance_spec& a, const instance_spec& b) {
    // The primary address comes from the interface, not the config.
    auto x = a;
    auto y = b;
    x.election.primary_address = y.election.primary_address = ip_address();
    return x == y;
}

instance::instance(instance_spec spec, instance_environment environment)
    : spec_(std::move(spec)),
      env_(environment),
      vmac_(spec_.name, spec_.interface, spec_.vmac_name, spec_.family(), spec_.virtual_router_id),
      core_(spec_.election),
      timer_(env_.clock.make_timer()),
      announcer_(env_.clock, spec_.announce, [this] { announce_round(); }),
      vips_(spec_.name, spec_.interface, spec_.vips),
      trackers_(spec_.name,
                trackers::specs{spec_.track_interfaces, spec_.track_scripts, spec_.track_files},
                env_.clock, env_.runner, env_.log, env_.files, [this] { recompute(); }),
      notify_(spec_.name, spec_.notify, env_.runner, env_.log) {}

instance::~instance() = default;

const std::string& instance::vip_interface() const {
    return spec_.use_vmac ? vmac_.name() : spec_.interface;
}

const std::string& instance::send_interface() const {
    return spec_.use_vmac && spec_.family() == address_family::ipv4 ? vmac_.name()
                                                                    : spec_.interface;
}

void instance::start() {
    if (const auto* iface = env_.links.find(vip_interface())) {
        vips_.remove_stale(env_.effects, env_.log, *iface);
    }
    bool ready = prepare();
    trackers_.start(env_.links);
    // Before the election starts: the first advert already carries the right priority.
    auto outcome = effective_priority(spec_.election.priority, trackers_.states());
    auto now = env_.clock.now();
    tracker_fault_ = outcome.fault;
    core_.on_priority(outcome.priority, now);
    core_.on_tracker_fault(outcome.fault, now);
    const auto* iface = env_.links.find(spec_.interface);
    perform(core_.start(now, ready && iface && iface->link_up));
    trackers_.start_scripts();
}

void instance::update_in_place(const instance_spec& wanted) {
    spec_.notify = wanted.notify;
    notify_.set_spec(wanted.notify);
    if (spec_.election.priority != wanted.election.priority) {
        spec_.election.priority = wanted.election.priority;
        // The next advert carries it; a backup's skew time follows it.
        recompute();
    }
}

// Finds the primary address and makes sure the transport is open. False when the interface is
// missing or has no usable address, which leaves the instance in FAULT until it changes.
bool instance::prepare() {
    const auto* iface = env_.links.find(spec_.interface);
    if (!iface) {
        return false;
    }
    auto primary = pick_primary(*iface);
    if (!primary) {
        return false;
    }
    if (auto error = env_.transport.open(spec_.interface, spec_.family())) {
        env_.log.error("vrrp.socket_failed", {{"interface", spec_.interface}, {"error", *error}});
        return false;
    }
    primary_ = *primary;
    // The core compares it on equal priority and drops adverts that carry it as source.
    core_.set_primary_address(*primary);
    if (!spec_.use_vmac) {
        return true;
    }
    if (!vmac_.ensure(env_.effects, env_.log, *iface)) {
        return false;
    }
    env_.links.refresh(vmac_.name());
    if (!env_.links.find(vmac_.name())) {
        return false;
    }
    if (auto error = env_.transport.open(vmac_.name(), spec_.family())) {
        env_.log.error("vrrp.socket_failed", {{"interface", vmac_.name()}, {"error", *error}});
        return false;
    }
    return true;
}

std::optional<ip_address> instance::pick_primary(const interface_info& info) const {
    if (spec_.unicast_source) {
        return spec_.unicast_source;
    }
    for (const auto& a : info.addresses) {
        bool is_vip = std::any_of(spec_.vips.begin(), spec_.vips.end(),
                                  [&](const ip_prefix& v) { return v.address == a.address; });
        if (is_vip || a.family() != spec_.family()) {
            continue;
        }
        // VRRPv3 over IPv6 is sent from the link-local address (RFC 5798 5.1.2.1).
        if (a.address.is_v6() && !is_link_local(a.address)) {
            continue;
        }
        return a.address;
    }
    return std::nullopt;
}

void instance::on_advert(const advert& packet, const ip_address& source, int hop_limit) {
    if (packet.virtual_router_id != spec_.virtual_router_id) {
        // Another virtual router's advert says nothing about this one's master.
        count_drop("unknown_vrid", source);
        return;
    }
    ++adverts_received_;
    received_advert a;
    a.version = packet.version;
    a.priority = packet.priority;
    a.interval = advert_interval(packet);
    a.addresses = packet.addresses;
    a.auth_type = packet.auth_type;
    a.auth_data = packet.auth_data;
    a.source = source;
    a.hop_limit = hop_limit;
    last_source_ = source;
    perform(core_.on_advert(a, env_.clock.now()));
}

bool instance::throttled(time_point& last) {
    auto now = env_.clock.now();
    if (last != time_point{} && now - last < drop_event_interval) {
        return true;
    }
    last = now;
    return false;
}

void instance::count_drop(std::string_view reason, const ip_address& source) {
    std::string key(reason);
    ++dropped_[key];
    auto& pending = unreported_drops_[key];
    ++pending;
    if (throttled(last_drop_event_[key])) {
        return;
    }
    env_.log.warning("vrrp.packet_dropped", {{"instance", spec_.name},
                                             {"interface", spec_.interface},
                                             {"reason", reason},
                                             {"source", to_string(source)},
                                             {"count", pending}});
    pending = 0;
}

void instance::on_link(bool up) {
    if (up && !prepare()) {
        return;  // no usable address yet: stay in FAULT
    }
    perform(core_.on_link(up, env_.clock.now()));
}

void instance::on_tracked_link(const std::string& name, bool up) {
    if (trackers_.on_link(name, up)) {
        recompute();
    }
}

void instance::shutdown() {
    announcer_.stop();
    timer_->cancel();
    trackers_.stop();
    perform(core_.shutdown(env_.clock.now()), false);
    if (spec_.use_vmac) {
        vmac_.remove(env_.effects, env_.log);
        env_.links.refresh(vmac_.name());
    }
}

instance_status instance::status() const {
    instance_status s;
    s.name = spec_.name;
    s.interface = spec_.interface;
    s.virtual_router_id = spec_.virtual_router_id;
    s.version = spec_.election.version;
    s.current = core_.current_state();
    s.since = since_;
    s.priority = core_.priority();
    s.configured_priority = spec_.election.priority;
    s.master = core_.master_address();
    s.advert_interval = spec_.election.advert_interval;
    s.master_advert_interval = core_.master_advert_interval();
    s.vips = spec_.vips;
    s.adverts_sent = adverts_sent_;
    s.adverts_received = adverts_received_;
    s.transitions = transitions_;
    s.dropped = dropped_;
    s.trackers = trackers_.states();
    s.sync_group = group_name_;
    return s;
}

void instance::recompute() {
    auto outcome = effective_priority(spec_.election.priority, trackers_.states());
    auto now = env_.clock.now();
    actions out;
    if (outcome.priority != core_.priority()) {
        env_.log.info(
            "vrrp.priority_changed",
            {{"instance", spec_.name}, {"from", core_.priority()}, {"to", outcome.priority}});
        auto more = core_.on_priority(outcome.priority, now);
        out.insert(out.end(), more.begin(), more.end());
    }
    if (outcome.fault != tracker_fault_) {
        tracker_fault_ = outcome.fault;
        auto more = core_.on_tracker_fault(outcome.fault, now);
        out.insert(out.end(), more.begin(), more.end());
    }
    perform(out);
}

void instance::perform(const actions& list, bool ask_group) {
    for (const auto& a : list) {
        std::visit([this](const auto& act) { do_action(act); }, a);
    }
    arm_timer();
    if (ask_group && !list.empty() && actions_listener_) {
        actions_listener_(*this, list);
    }
}

void instance::do_action(const send_advert& a) {
    send(a.priority);
}

void instance::do_action(const add_vips&) {
    if (const auto* iface = env_.links.find(vip_interface())) {
        vips_.add_all(env_.effects, env_.log, iface->index, "became_master");
    }
}

// The core has left MASTER by now; the transition that follows stops the announcer.
void instance::do_action(const remove_vips&) {
    if (const auto* iface = env_.links.find(vip_interface())) {
        vips_.remove_all(env_.effects, env_.log, iface->index, "released");
    }
}

void instance::do_action(const announce&) {
    announcer_.start();
}

void instance::do_action(const transition& t) {
    notify_.on_transition(t, core_.priority(), core_.master_address());
    if (state_listener_) {
        state_listener_(spec_.name, t.to);
    }
    ++transitions_;
    since_ = std::chrono::system_clock::now();
    if (t.from == state::master) {
        announcer_.stop();
    }
    auto master = core_.master_address();
    env_.log.info("vrrp.transition", {{"instance", spec_.name},
                                      {"interface", spec_.interface},
                                      {"virtual_router_id", spec_.virtual_router_id},
                                      {"from", to_string(t.from)},
                                      {"to", to_string(t.to)},
                                      {"reason", to_string(t.reason)},
                                      {"priority", core_.priority()},
                                      {"master", master ? to_string(*master) : std::string()}});
}

void instance::do_action(const drop& d) {
    count_drop(to_string(d.reason), last_source_);
}

void instance::send(std::uint8_t priority) {
    if (!primary_) {
        return;
    }
    advert packet;
    packet.version = spec_.election.version;
    packet.virtual_router_id = spec_.virtual_router_id;
    packet.priority = priority;
    packet.max_advert_interval =
        *wire_advert_interval(spec_.election.version, spec_.election.advert_interval);
    for (const auto& vip : spec_.vips) {
        packet.addresses.push_back(vip.address);
    }
    if (spec_.election.version == protocol_version::v2 && spec_.election.auth_pass) {
        packet.auth_type = auth_type_simple_text;
        packet.auth_data = *spec_.election.auth_pass;
    }
    std::vector<ip_address> destinations = spec_.election.unicast_peers;
    if (destinations.empty()) {
        destinations.push_back(spec_.family() == address_family::ipv6 ? ipv6_group : ipv4_group);
    }
    for (const auto& destination : destinations) {
        if (auto error = env_.transport.send(send_interface(), packet, *primary_, destination)) {
            if (!throttled(last_send_error_)) {
                env_.log.warning("vrrp.send_failed", {{"instance", spec_.name},
                                                      {"destination", to_string(destination)},
                                                      {"error", *error}});
            }
            continue;
        }
        ++adverts_sent_;
    }
}

void instance::announce_round() {
    const auto* iface = env_.links.find(vip_interface());
    if (!iface) {
        return;
    }
    if (auto error = env_.effects.announce(*iface, spec_.vips)) {
        if (!throttled(last_send_error_)) {
            env_.log.warning("vrrp.announce_failed", {{"instance", spec_.name}, {"error", *error}});
        }
    }
}

void instance::arm_timer() {
    auto deadline = core_.deadline();
    if (!deadline) {
        timer_->cancel();
        return;
    }
    if (timer_->armed_for() != deadline) {
        timer_->arm(*deadline, [this] { on_timer(); });
    }
}

void instance::on_timer() {
    if (core_.current_state() == state::master) {
        // A due advert leaves before anything is read: however busy the socket, the backups
        // hear their master on time.
        perform(core_.on_timer(env_.clock.now()));
        env_.transport.drain(spec_.interface, spec_.family());
    } else {
        // Adverts that arrived while the loop was busy are read first (a bounded number): a
        // late wakeup must not mistake unread adverts for a dead master.
        env_.transport.drain(spec_.interface, spec_.family());
        perform(core_.on_timer(env_.clock.now()));
    }
    if (core_.current_state() == state::master) {
        if (const auto* iface = env_.links.find(vip_interface())) {
            vips_.retry_missing(env_.effects, env_.log, iface->index);
        }
    }
}

}  // namespace vigil::vrrp
