#include "vrrp/node.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>

#include "vrrp/packet.hpp"
#include "vrrp/socket.hpp"

namespace vigil::vrrp {

namespace asio = boost::asio;
// Address formatting from the base library beside this namespace's own to_string overloads.
using vigil::to_string;

namespace {

// A dropped packet is worth one event per reason and instance every so often, not one per
// packet: a misconfigured peer at 100 adverts a second must not flood the log.
constexpr auto drop_event_interval = std::chrono::seconds(10);

const ip_address ipv4_group = boost::asio::ip::make_address("224.0.0.18");
const ip_address ipv6_group = boost::asio::ip::make_address("ff02::12");

bool is_link_local(const ip_address& a) {
    return a.is_v6() && a.to_v6().is_link_local();
}

}  // namespace

bool same_settings(const router_config& a, const router_config& b) {
    auto ea = a.election;
    auto eb = b.election;
    // The primary address comes from the interface, not the config.
    ea.primary_address = eb.primary_address = ip_address();
    return a.name == b.name && a.interface == b.interface &&
           a.virtual_router_id == b.virtual_router_id && a.vips == b.vips &&
           a.unicast_source == b.unicast_source && ea.priority == eb.priority &&
           ea.version == eb.version && ea.advert_interval == eb.advert_interval &&
           ea.virtual_addresses == eb.virtual_addresses && ea.preempt == eb.preempt &&
           ea.preempt_delay == eb.preempt_delay && ea.auth_pass == eb.auth_pass &&
           ea.unicast_peers == eb.unicast_peers &&
           a.announce.master_delay == b.announce.master_delay &&
           a.announce.master_repeat == b.announce.master_repeat &&
           a.announce.master_refresh == b.announce.master_refresh &&
           a.announce.master_refresh_repeat == b.announce.master_refresh_repeat &&
           a.announce.interval == b.announce.interval;
}

struct node::interface_state {
    std::string name;
    std::optional<interface_info> info;
    std::unique_ptr<vrrp_socket> v4;
    std::unique_ptr<vrrp_socket> v6;
    std::unique_ptr<announce_sender> sender;
    std::vector<router*> routers;

    vrrp_socket* socket(address_family f) const {
        return f == address_family::ipv6 ? v6.get() : v4.get();
    }
    bool link_up() const { return info && info->link_up; }
    router* find(address_family family, std::uint8_t vrid) const;
};

class node::router {
  public:
    router(node& owner, router_config config)
        : owner_(owner),
          config_(std::move(config)),
          core_(config_.election),
          timer_(owner.executor_),
          announcer_(owner.executor_, config_.announce, [this] { announce_round(); }) {}

    ~router() { *alive_ = false; }
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    const router_config& config() const { return config_; }

    void start() {
        auto* iface = owner_.interface_for(config_.interface);
        held_.assign(config_.vips.size(), false);
        remove_stale_vips(*iface);
        bool ready = prepare(*iface);
        perform(core_.start(mono_clock::now(), ready && iface->link_up()));
    }

    void on_advert(const advert& packet, const inbound_packet& from) {
        ++adverts_received_;
        received_advert a;
        a.version = packet.version;
        a.priority = packet.priority;
        a.interval = advert_interval(packet);
        a.addresses = packet.addresses;
        a.auth_type = packet.auth_type;
        a.auth_data = packet.auth_data;
        a.source = from.source;
        a.hop_limit = from.hop_limit;
        perform(core_.on_advert(a, mono_clock::now()));
    }

    void count_drop(std::string_view reason, const ip_address& source) {
        auto& counter = dropped_[std::string(reason)];
        ++counter;
        auto now = mono_clock::now();
        auto& last = last_drop_event_[std::string(reason)];
        auto& pending = unreported_drops_[std::string(reason)];
        ++pending;
        if (last == time_point{} || now - last >= drop_event_interval) {
            owner_.log_.warning("vrrp.packet_dropped", {{"instance", config_.name},
                                                        {"interface", config_.interface},
                                                        {"reason", reason},
                                                        {"source", to_string(source)},
                                                        {"count", pending}});
            last = now;
            pending = 0;
        }
    }

    void on_link(bool up) {
        auto* iface = owner_.interface_for(config_.interface);
        if (up && !prepare(*iface)) {
            return;  // no usable address yet: stay in FAULT
        }
        perform(core_.on_link(up, mono_clock::now()));
    }

    void shutdown() {
        announcer_.stop();
        timer_.cancel();
        perform(core_.shutdown(mono_clock::now()));
    }

    router_status status() const {
        router_status s;
        s.name = config_.name;
        s.interface = config_.interface;
        s.virtual_router_id = config_.virtual_router_id;
        s.version = config_.election.version;
        s.current = core_.current_state();
        s.since = since_;
        s.priority = core_.priority();
        s.configured_priority = config_.election.priority;
        s.master = core_.master_address();
        s.advert_interval = config_.election.advert_interval;
        s.master_advert_interval = core_.master_advert_interval();
        s.vips = config_.vips;
        s.adverts_sent = adverts_sent_;
        s.adverts_received = adverts_received_;
        s.transitions = transitions_;
        s.dropped = dropped_;
        return s;
    }

  private:
    // Finds the primary address and makes sure the sockets exist. False when the interface is
    // missing or has no usable address, which leaves the router in FAULT until it changes.
    bool prepare(interface_state& iface) {
        if (!iface.info) {
            return false;
        }
        auto primary = pick_primary(*iface.info);
        if (!primary) {
            return false;
        }
        if (!iface.socket(config_.family())) {
            if (auto error = owner_.open_sockets(iface, config_.family())) {
                owner_.log_.error("vrrp.socket_failed",
                                  {{"interface", config_.interface}, {"error", *error}});
                return false;
            }
        }
        primary_ = *primary;
        // The core compares it on equal priority and drops adverts that carry it as source.
        core_.set_primary_address(*primary);
        return true;
    }

    std::optional<ip_address> pick_primary(const interface_info& info) const {
        if (config_.unicast_source) {
            return config_.unicast_source;
        }
        for (const auto& a : info.addresses) {
            bool is_vip = std::any_of(config_.vips.begin(), config_.vips.end(),
                                      [&](const ip_prefix& v) { return v.address == a.address; });
            if (is_vip || a.family() != config_.family()) {
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

    void remove_stale_vips(interface_state& iface) {
        if (!iface.info) {
            return;
        }
        for (const auto& vip : config_.vips) {
            bool present =
                std::any_of(iface.info->addresses.begin(), iface.info->addresses.end(),
                            [&](const ip_prefix& a) { return a.address == vip.address; });
            if (!present) {
                continue;
            }
            // Left behind by a run that died as master: the election decides afresh.
            auto result = owner_.effects_.remove(iface.info->index, vip);
            if (result.outcome == address_change::done) {
                owner_.log_.info("vrrp.vip_removed", {{"instance", config_.name},
                                                      {"interface", config_.interface},
                                                      {"address", to_string(vip)},
                                                      {"reason", "stale"}});
            } else if (result.outcome == address_change::failed) {
                vip_failed("remove", vip, result.error);
            }
        }
    }

    void perform(const actions& list) {
        for (const auto& a : list) {
            std::visit([this](const auto& act) { do_action(act); }, a);
        }
        arm_timer();
    }

    void do_action(const send_advert& a) { send(a.priority); }
    void do_action(const add_vips&) { change_vips(true, "became_master"); }
    void do_action(const remove_vips&) {
        announcer_.stop();
        change_vips(false, core_.current_state() == state::master ? "left_master" : "released");
    }
    void do_action(const announce&) { announcer_.start(); }
    void do_action(const transition& t) {
        ++transitions_;
        since_ = std::chrono::system_clock::now();
        if (t.from == state::master) {
            announcer_.stop();
        }
        auto master = core_.master_address();
        owner_.log_.info("vrrp.transition",
                         {{"instance", config_.name},
                          {"interface", config_.interface},
                          {"virtual_router_id", config_.virtual_router_id},
                          {"from", to_string(t.from)},
                          {"to", to_string(t.to)},
                          {"reason", to_string(t.reason)},
                          {"priority", core_.priority()},
                          {"master", master ? to_string(*master) : std::string()}});
    }
    // The node's sync group answers these.
    void do_action(const request_master&) {}
    void do_action(const own_fault_cleared&) {}
    void do_action(const drop& d) { count_drop(to_string(d.reason), last_source_); }

    void send(std::uint8_t priority) {
        auto* iface = owner_.interface_for(config_.interface);
        auto* socket = iface->socket(config_.family());
        if (!socket || !primary_) {
            return;
        }
        advert packet;
        packet.version = config_.election.version;
        packet.virtual_router_id = config_.virtual_router_id;
        packet.priority = priority;
        packet.max_advert_interval =
            *wire_advert_interval(config_.election.version, config_.election.advert_interval);
        for (const auto& vip : config_.vips) {
            packet.addresses.push_back(vip.address);
        }
        if (config_.election.version == protocol_version::v2 && config_.election.auth_pass) {
            packet.auth_type = auth_type_simple_text;
            packet.auth_data = *config_.election.auth_pass;
        }
        std::vector<ip_address> destinations = config_.election.unicast_peers;
        if (destinations.empty()) {
            destinations.push_back(config_.family() == address_family::ipv6 ? ipv6_group
                                                                            : ipv4_group);
        }
        for (const auto& destination : destinations) {
            auto payload = encode(packet, *primary_, destination);
            if (auto error = socket->send(payload, *primary_, destination)) {
                auto now = mono_clock::now();
                if (now - last_send_error_ >= drop_event_interval) {
                    owner_.log_.warning("vrrp.send_failed",
                                        {{"instance", config_.name},
                                         {"destination", to_string(destination)},
                                         {"error", *error}});
                    last_send_error_ = now;
                }
                continue;
            }
            ++adverts_sent_;
        }
    }

    void change_vips(bool add, const char* reason) {
        auto* iface = owner_.interface_for(config_.interface);
        if (!iface->info) {
            return;
        }
        for (std::size_t i = 0; i < config_.vips.size(); ++i) {
            const auto& vip = config_.vips[i];
            auto result = add ? owner_.effects_.add(iface->info->index, vip)
                              : owner_.effects_.remove(iface->info->index, vip);
            if (result.outcome == address_change::failed) {
                vip_failed(add ? "add" : "remove", vip, result.error);
                held_[i] = !add;  // unknown: an add is retried while master
                continue;
            }
            held_[i] = add;
            if (result.outcome == address_change::done) {
                owner_.log_.info(add ? "vrrp.vip_added" : "vrrp.vip_removed",
                                 {{"instance", config_.name},
                                  {"interface", config_.interface},
                                  {"address", to_string(vip)},
                                  {"reason", reason}});
            }
        }
    }

    // A VIP the kernel refused is tried again with every advert while this router is master.
    void retry_missing_vips() {
        if (std::all_of(held_.begin(), held_.end(), [](bool h) { return h; })) {
            return;
        }
        auto* iface = owner_.interface_for(config_.interface);
        for (std::size_t i = 0; i < config_.vips.size() && iface->info; ++i) {
            if (held_[i]) {
                continue;
            }
            auto result = owner_.effects_.add(iface->info->index, config_.vips[i]);
            if (result.outcome != address_change::failed) {
                held_[i] = true;
                owner_.log_.info("vrrp.vip_added", {{"instance", config_.name},
                                                    {"interface", config_.interface},
                                                    {"address", to_string(config_.vips[i])},
                                                    {"reason", "retry"}});
            }
        }
    }

    void vip_failed(const char* operation, const ip_prefix& vip, const std::string& error) {
        owner_.log_.error("vrrp.vip_failed", {{"instance", config_.name},
                                              {"interface", config_.interface},
                                              {"address", to_string(vip)},
                                              {"operation", operation},
                                              {"error", error}});
    }

    void announce_round() {
        auto* iface = owner_.interface_for(config_.interface);
        if (!iface->sender || !iface->info) {
            return;
        }
        if (auto error = iface->sender->send_round(iface->info->mac, config_.vips)) {
            auto now = mono_clock::now();
            if (now - last_send_error_ >= drop_event_interval) {
                owner_.log_.warning("vrrp.announce_failed",
                                    {{"instance", config_.name}, {"error", *error}});
                last_send_error_ = now;
            }
        }
    }

    void arm_timer() {
        auto deadline = core_.deadline();
        if (!deadline) {
            timer_.cancel();
            return;
        }
        timer_.expires_at(*deadline);
        std::weak_ptr<bool> alive = alive_;
        timer_.async_wait([this, alive](const boost::system::error_code& ec) {
            if (ec || !alive.lock() || !*alive.lock()) {
                return;
            }
            on_timer();
        });
    }

    void on_timer() {
        // Adverts that arrived while the loop was busy are read first: a late wakeup must not
        // mistake unread adverts for a dead master.
        auto* iface = owner_.interface_for(config_.interface);
        if (auto* socket = iface->socket(config_.family())) {
            socket->drain();
        }
        perform(core_.on_timer(mono_clock::now()));
        if (core_.current_state() == state::master) {
            retry_missing_vips();
        }
    }

  public:
    // The source of the advert being handled, for drop events.
    ip_address last_source_;

  private:
    node& owner_;
    router_config config_;
    instance core_;
    asio::steady_timer timer_;
    announcer announcer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::optional<ip_address> primary_;
    std::vector<bool> held_;
    std::chrono::system_clock::time_point since_ = std::chrono::system_clock::now();
    std::uint64_t adverts_sent_ = 0;
    std::uint64_t adverts_received_ = 0;
    std::uint64_t transitions_ = 0;
    std::map<std::string, std::uint64_t> dropped_;
    std::map<std::string, time_point> last_drop_event_;
    std::map<std::string, std::uint64_t> unreported_drops_;
    time_point last_send_error_{};
};

node::router* node::interface_state::find(address_family family, std::uint8_t vrid) const {
    for (auto* r : routers) {
        if (r->config().family() == family && r->config().virtual_router_id == vrid) {
            return r;
        }
    }
    return nullptr;
}

node::node(asio::any_io_executor executor, event_log& log, address_effects& effects)
    : executor_(std::move(executor)), log_(log), effects_(effects) {}

node::~node() = default;

node::interface_state* node::interface_for(const std::string& name) {
    auto& slot = interfaces_[name];
    if (!slot) {
        slot = std::make_unique<interface_state>();
        slot->name = name;
        slot->info = effects_.lookup(name);
    }
    return slot.get();
}

void node::refresh_interface(interface_state& iface) {
    auto previous_index = iface.info ? iface.info->index : 0;
    iface.info = effects_.lookup(iface.name);
    if (!iface.info || iface.info->index != previous_index) {
        // The interface went away or was recreated: its sockets are bound to the old one.
        iface.v4.reset();
        iface.v6.reset();
        iface.sender.reset();
    }
}

std::optional<std::string> node::open_sockets(interface_state& iface, address_family family) {
    if (!iface.info) {
        return "interface " + iface.name + " does not exist";
    }
    std::string error;
    auto socket = vrrp_socket::open(executor_, iface.info->index, iface.name, family, error);
    if (!socket) {
        return error;
    }
    auto* raw = socket.get();
    socket->start(
        [&iface, family](const inbound_packet& packet) {
            // Attribute what cannot be decoded to the instance whose VRID byte it carries.
            std::uint8_t vrid = packet.payload.size() >= 2 ? packet.payload[1] : 0;
            auto* target = iface.find(family, vrid);
            auto decoded = decode(packet.payload, packet.source, packet.destination);
            if (!decoded.has_value()) {
                if (target) {
                    target->count_drop(to_string(decoded.error()), packet.source);
                } else {
                    for (auto* r : iface.routers) {
                        if (r->config().family() == family) {
                            r->count_drop(to_string(decoded.error()), packet.source);
                        }
                    }
                }
                return;
            }
            if (!target) {
                for (auto* r : iface.routers) {
                    if (r->config().family() == family) {
                        r->count_drop("unknown_vrid", packet.source);
                    }
                }
                return;
            }
            target->last_source_ = packet.source;
            target->on_advert(*decoded, packet);
        },
        [&iface, family](std::string_view reason) {
            for (auto* r : iface.routers) {
                if (r->config().family() == family) {
                    r->count_drop(reason, ip_address());
                }
            }
        });
    (family == address_family::ipv6 ? iface.v6 : iface.v4) = std::move(socket);
    (void)raw;
    if (!iface.sender) {
        iface.sender = announce_sender::open(iface.info->index, iface.name, error);
        if (!iface.sender) {
            return error;
        }
    }
    return std::nullopt;
}

void node::on_link_event(const link_monitor::link_event& event) {
    auto found = interfaces_.find(event.name);
    if (found == interfaces_.end()) {
        // Renamed or unnamed in this event: match by index.
        found = std::find_if(interfaces_.begin(), interfaces_.end(), [&](const auto& entry) {
            return entry.second->info && entry.second->info->index == event.index;
        });
        if (found == interfaces_.end()) {
            return;
        }
    }
    auto& iface = *found->second;
    bool was_up = iface.link_up();
    refresh_interface(iface);
    bool up = iface.link_up() && !event.removed;
    if (up == was_up && iface.socket(address_family::ipv4) == nullptr &&
        iface.socket(address_family::ipv6) == nullptr && !up) {
        return;
    }
    if (up != was_up || !up) {
        for (auto* r : iface.routers) {
            r->on_link(up);
        }
    }
}

void node::start_router(const router_config& config) {
    auto r = std::make_unique<router>(*this, config);
    auto* iface = interface_for(config.interface);
    iface->routers.push_back(r.get());
    auto* raw = r.get();
    routers_.push_back(std::move(r));
    raw->start();
}

std::optional<std::string> node::start(std::vector<router_config> routers) {
    if (!routers.empty() && !links_) {
        links_ = std::make_unique<link_monitor>(
            executor_, [this](const link_monitor::link_event& e) { on_link_event(e); },
            [this] {
                for (auto& [name, iface] : interfaces_) {
                    link_monitor::link_event e;
                    e.name = name;
                    e.index = iface->info ? iface->info->index : 0;
                    on_link_event(e);
                }
            });
        if (auto error = links_->start()) {
            links_.reset();
            return error;
        }
    }
    for (const auto& config : routers) {
        auto* iface = interface_for(config.interface);
        if (iface->info && !iface->socket(config.family())) {
            if (auto error = open_sockets(*iface, config.family())) {
                return "instance " + config.name + ": " + *error;
            }
        }
    }
    for (const auto& config : routers) {
        start_router(config);
    }
    return std::nullopt;
}

std::optional<std::string> node::reconfigure(std::vector<router_config> routers) {
    std::vector<router_config> to_start;
    // Resign routers that are gone or changed.
    for (auto it = routers_.begin(); it != routers_.end();) {
        auto& current = (*it)->config();
        auto wanted = std::find_if(routers.begin(), routers.end(), [&](const router_config& c) {
            return same_settings(c, current);
        });
        if (wanted != routers.end()) {
            routers.erase(wanted);  // unchanged: keeps its state, timers and VIPs
            ++it;
            continue;
        }
        (*it)->shutdown();
        auto* iface = interface_for(current.interface);
        std::erase(iface->routers, it->get());
        it = routers_.erase(it);
    }
    if (routers_.empty() && routers.empty()) {
        return std::nullopt;
    }
    return start(std::move(routers));
}

void node::shutdown() {
    for (auto& r : routers_) {
        r->shutdown();
    }
}

std::vector<router_status> node::status() const {
    std::vector<router_status> out;
    for (const auto& r : routers_) {
        out.push_back(r->status());
    }
    return out;
}

}  // namespace vigil::vrrp
