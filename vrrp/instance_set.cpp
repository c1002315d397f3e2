#include "vrrp/instance_set.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>

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

std::string sysctl_path(const std::string& interface, const char* key) {
    return "/proc/sys/net/ipv4/conf/" + interface + "/" + key;
}

std::optional<std::string> read_sysctl(const std::string& path) {
    std::ifstream in(path);
    std::string value;
    if (in >> value) {
        return value;
    }
    return std::nullopt;
}

bool write_sysctl(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value << "\n";
    return static_cast<bool>(out);
}

}  // namespace

bool same_settings(const instance_spec& a, const instance_spec& b) {
    // The primary address comes from the interface, not the config.
    auto x = a;
    auto y = b;
    x.election.primary_address = y.election.primary_address = ip_address();
    return x == y;
}

namespace {

// A reload may change these on a running router without restarting it (so a master stays
// master): the configured priority, unless it becomes or stops being the owner's 255, which
// decides how the election starts; and the notify programs.
bool changes_in_place(const instance_spec& wanted, const instance_spec& current) {
    auto patched = current;
    patched.election.priority = wanted.election.priority;
    patched.notify = wanted.notify;
    return same_settings(wanted, patched) && wanted.election.priority != 255 &&
           current.election.priority != 255;
}

}  // namespace

struct instance_set::interface_state {
    std::string name;
    std::optional<interface_info> info;
    std::unique_ptr<vrrp_socket> v4;
    std::unique_ptr<vrrp_socket> v6;
    std::unique_ptr<announcement_sender> sender;
    std::vector<router*> routers;

    vrrp_socket* socket(address_family f) const {
        return f == address_family::ipv6 ? v6.get() : v4.get();
    }
    bool link_up() const { return info && info->link_up; }
    router* find(address_family family, std::uint8_t vrid) const;
};

class instance_set::router {
  public:
    router(instance_set& owner, instance_spec config)
        : owner_(owner),
          config_(std::move(config)),
          vmac_name_(!config_.vmac_name.empty() ? config_.vmac_name
                     : config_.family() == address_family::ipv6
                         ? "vrrp6." + std::to_string(config_.virtual_router_id)
                         : "vrrp." + std::to_string(config_.virtual_router_id)),
          core_(config_.election),
          timer_(owner.executor_),
          announcer_(owner.executor_, config_.announce, [this] { announce_round(); }) {}

    ~router() {
        *alive_ = false;
        owner_.unwatch_files(*this);
    }
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    const instance_spec& config() const { return config_; }
    // A reload changed only what changes_in_place allows.
    void update_in_place(const instance_spec& wanted) {
        config_.notify = wanted.notify;
        if (config_.election.priority != wanted.election.priority) {
            config_.election.priority = wanted.election.priority;
            // The next advert carries it; a backup's skew time follows it.
            recompute();
        }
    }
    election& core() { return core_; }
    const election& core() const { return core_; }
    bool busy() const { return notifying_ || !notify_queue_.empty(); }

    void start() {
        auto* iface = owner_.interface_for(config_.interface);
        held_.assign(config_.vips.size(), false);
        remove_stale_vips(*owner_.interface_for(vip_interface()));
        bool ready = prepare(*iface);
        init_trackers();
        perform(core_.start(mono_clock::now(), ready && iface->link_up()));
        for (std::size_t i = 0; i < scripts_.size(); ++i) {
            run_script(i);
        }
    }

    // Link state of an interface this router tracks (other than its own).
    void on_tracked_link(const std::string& name, bool up) {
        bool changed = false;
        for (auto& t : trackers_) {
            if (t.kind == tracker_kind::interface && t.name == name && t.healthy != up) {
                t.healthy = up;
                changed = true;
                tracker_event(t, up ? "link up" : "link down");
            }
        }
        if (changed) {
            recompute();
        }
    }

    void reread_file(std::size_t index) {
        auto& t = trackers_[index];
        auto value = read_tracked_file(t.name);
        if (value != t.value) {
            t.value = value;
            tracker_event(t, "value " + std::to_string(value));
            recompute();
        }
    }

    // Applies actions a sync group decided for this router; the group is not asked again.
    void perform_for_group(const actions& list) { perform(list, false); }

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
        for (auto& run : scripts_) {
            run->timer.cancel();
        }
        perform(core_.shutdown(mono_clock::now()), false);
        remove_vmac();
    }

    instance_status status() const {
        instance_status s;
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
        s.trackers = trackers_;
        s.sync_group = group_name_;
        return s;
    }

    void set_group_name(std::optional<std::string> name) { group_name_ = std::move(name); }

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
        return !config_.use_vmac || ensure_vmac(iface);
    }

    // --- virtual MAC

    // Where the VIPs live and announcements leave: the VMAC when configured.
    const std::string& vip_interface() const {
        return config_.use_vmac ? vmac_name_ : config_.interface;
    }
    // Where adverts leave: the VMAC for IPv4, so they carry the virtual MAC; the base interface
    // for IPv6, whose link-local address is the advert's source (keepalived's vmac_xmit_base).
    const std::string& send_interface() const {
        return config_.use_vmac && config_.family() == address_family::ipv4 ? vmac_name_
                                                                            : config_.interface;
    }

    mac_address virtual_mac() const {
        // RFC 5798 7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
        return {0x00,
                0x00,
                0x5e,
                0x00,
                static_cast<std::uint8_t>(config_.family() == address_family::ipv6 ? 0x02 : 0x01),
                config_.virtual_router_id};
    }

    bool ensure_vmac(interface_state& base) {
        auto result = owner_.effects_.create_macvlan(base.info->index, vmac_name_, virtual_mac());
        if (result.outcome == address_change::failed) {
            owner_.log_.error(
                "vrrp.vmac_failed",
                {{"instance", config_.name}, {"interface", vmac_name_}, {"error", result.error}});
            return false;
        }
        if (result.outcome == address_change::done) {
            owner_.log_.info("vrrp.vmac_created", {{"instance", config_.name},
                                                   {"interface", vmac_name_},
                                                   {"base", config_.interface}});
        }
        // Only the VMAC may answer ARP for the VIPs: by default the base interface would answer
        // too, with its own MAC. arp_ignore=1 answers only for addresses of the receiving
        // interface. Replies and traffic to the VIP arrive on the VMAC while the route back leaves
        // by the base, so the VMAC takes loose reverse-path filtering (a strict one drops them).
        auto base_path = sysctl_path(config_.interface, "arp_ignore");
        if (!saved_sysctls_.contains(base_path)) {
            if (auto previous = read_sysctl(base_path)) {
                saved_sysctls_[base_path] = *previous;
            }
        }
        write_sysctl(base_path, "1");
        write_sysctl(sysctl_path(vmac_name_, "arp_ignore"), "1");
        write_sysctl(sysctl_path(vmac_name_, "rp_filter"), "2");
        auto* vmac = owner_.interface_for(vmac_name_);
        owner_.refresh_interface(*vmac);
        if (!vmac->info) {
            return false;
        }
        if (!vmac->socket(config_.family())) {
            if (auto error = owner_.open_sockets(*vmac, config_.family())) {
                owner_.log_.error("vrrp.socket_failed",
                                  {{"interface", vmac_name_}, {"error", *error}});
                return false;
            }
        }
        return true;
    }

    void remove_vmac() {
        if (!config_.use_vmac) {
            return;
        }
        auto result = owner_.effects_.delete_link(vmac_name_);
        if (result.outcome == address_change::done) {
            owner_.log_.info("vrrp.vmac_removed",
                             {{"instance", config_.name}, {"interface", vmac_name_}});
        }
        owner_.refresh_interface(*owner_.interface_for(vmac_name_));
        for (const auto& [path, value] : saved_sysctls_) {
            write_sysctl(path, value);
        }
        saved_sysctls_.clear();
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

    void perform(const actions& list, bool ask_group = true) {
        for (const auto& a : list) {
            std::visit([this](const auto& act) { do_action(act); }, a);
        }
        arm_timer();
        if (ask_group && !list.empty()) {
            owner_.react_group(*this, list);
        }
    }

    // --- trackers

    void init_trackers() {
        trackers_.clear();
        scripts_.clear();
        for (const auto& t : config_.track_interfaces) {
            auto* iface = owner_.interface_for(t.name);
            trackers_.push_back(
                tracker_state{t.name, tracker_kind::interface, t.weight, iface->link_up(), 0});
        }
        for (const auto& t : config_.track_scripts) {
            // Failed until proven: a node never claims a priority it has not earned.
            trackers_.push_back(tracker_state{t.name, tracker_kind::script, t.weight, false, 0});
            scripts_.push_back(std::make_unique<script_run>(t.rise, t.fall, owner_.executor_));
        }
        for (const auto& t : config_.track_files) {
            trackers_.push_back(tracker_state{t.path, tracker_kind::file, t.weight, true,
                                              read_tracked_file(t.path)});
            owner_.watch_file(*this, trackers_.size() - 1, t.path);
        }
        // Before the election starts: the first advert already carries the right priority.
        auto outcome = effective_priority(config_.election.priority, trackers_);
        tracker_fault_ = outcome.fault;
        core_.on_priority(outcome.priority, mono_clock::now());
        core_.on_tracker_fault(outcome.fault, mono_clock::now());
    }

    static long long read_tracked_file(const std::string& path) {
        std::ifstream in(path);
        long long value = 0;
        if (in >> value) {
            return value;
        }
        return 0;  // missing or not a number: no effect
    }

    void tracker_event(const tracker_state& t, const std::string& detail) {
        owner_.log_.info("vrrp.tracker_changed", {{"instance", config_.name},
                                                  {"tracker", t.name},
                                                  {"kind", std::string(to_string(t.kind))},
                                                  {"healthy", t.healthy},
                                                  {"value", t.value},
                                                  {"weight", t.weight},
                                                  {"detail", detail}});
    }

    void recompute() {
        auto outcome = effective_priority(config_.election.priority, trackers_);
        auto now = mono_clock::now();
        actions out;
        if (outcome.priority != core_.priority()) {
            owner_.log_.info(
                "vrrp.priority_changed",
                {{"instance", config_.name}, {"from", core_.priority()}, {"to", outcome.priority}});
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

    struct script_run {
        script_run(unsigned rise, unsigned fall, asio::any_io_executor executor)
            : counter(rise, fall), timer(std::move(executor)) {}
        script_counter counter;
        asio::steady_timer timer;
    };

    void run_script(std::size_t index) {
        const auto& t = config_.track_scripts[index];
        child_spec spec;
        spec.argv = t.command;
        spec.user = t.user;
        spec.timeout = t.timeout;
        spec.environment = {{"VIGIL_INSTANCE", config_.name}, {"VIGIL_TRACKER", t.name}};
        auto started = mono_clock::now();
        std::weak_ptr<bool> alive = alive_;
        owner_.runner_.start(spec, [this, alive, index, started](child_result result) {
            if (!alive.lock() || !*alive.lock()) {
                return;
            }
            auto& tracker = trackers_[config_.track_interfaces.size() + index];
            auto& run = *scripts_[index];
            if (auto changed = run.counter.record(result.succeeded())) {
                tracker.healthy = *changed;
                tracker_event(tracker, describe(result));
                recompute();
            }
            // The next run is due one interval after this one started, never sooner than now.
            run.timer.expires_at(started + config_.track_scripts[index].interval);
            run.timer.async_wait([this, alive, index](const boost::system::error_code& ec) {
                if (!ec && alive.lock() && *alive.lock()) {
                    run_script(index);
                }
            });
        });
    }

    // --- notify

    void queue_notify(const transition& t) {
        const auto& n = config_.notify;
        std::vector<const std::vector<std::string>*> programs;
        const char* state_name = nullptr;
        switch (t.to) {
            case state::master:
                state_name = "MASTER";
                programs.push_back(&n.master);
                break;
            case state::backup:
                state_name = "BACKUP";
                programs.push_back(&n.backup);
                break;
            case state::fault:
                state_name = "FAULT";
                programs.push_back(&n.fault);
                break;
            case state::initialize:
                state_name = "STOP";
                programs.push_back(&n.stop);
                break;
        }
        auto priority = std::to_string(core_.priority());
        auto master = core_.master_address();
        std::vector<std::pair<std::string, std::string>> environment{
            {"VIGIL_INSTANCE", config_.name},
            {"VIGIL_STATE", state_name},
            {"VIGIL_FROM", std::string(to_string(t.from))},
            {"VIGIL_REASON", std::string(to_string(t.reason))},
            {"VIGIL_PRIORITY", priority},
            {"VIGIL_MASTER", master ? to_string(*master) : std::string()}};
        if (!n.any.empty()) {
            child_spec spec;
            spec.argv = n.any;
            // keepalived's generic notify arguments: type, name, state, priority.
            spec.argv.insert(spec.argv.end(), {"INSTANCE", config_.name, state_name, priority});
            spec.environment = environment;
            spec.timeout = n.timeout;
            notify_queue_.push_back(std::move(spec));
        }
        for (const auto* program : programs) {
            if (program->empty()) {
                continue;
            }
            child_spec spec;
            spec.argv = *program;
            spec.environment = environment;
            spec.timeout = n.timeout;
            notify_queue_.push_back(std::move(spec));
        }
        run_next_notify();
    }

    // One at a time per instance, in transition order: a notify that sets up routes for MASTER
    // must not race the one for the BACKUP that follows it.
    void run_next_notify() {
        if (notifying_ || notify_queue_.empty()) {
            return;
        }
        auto spec = std::move(notify_queue_.front());
        notify_queue_.pop_front();
        notifying_ = true;
        auto program = spec.argv.front();
        std::weak_ptr<bool> alive = alive_;
        owner_.runner_.start(std::move(spec), [this, alive, program](child_result result) {
            if (!alive.lock() || !*alive.lock()) {
                return;
            }
            notifying_ = false;
            if (!result.succeeded()) {
                owner_.log_.warning("vrrp.notify_failed", {{"instance", config_.name},
                                                           {"program", program},
                                                           {"result", describe(result)},
                                                           {"output", result.output}});
            }
            run_next_notify();
        });
    }

    void do_action(const send_advert& a) { send(a.priority); }
    void do_action(const add_vips&) { change_vips(true, "became_master"); }
    // The core has left MASTER by now; the transition that follows stops the announcer.
    void do_action(const remove_vips&) { change_vips(false, "released"); }
    void do_action(const announce&) { announcer_.start(); }
    void do_action(const transition& t) {
        queue_notify(t);
        if (owner_.state_listener_) {
            owner_.state_listener_(config_.name, t.to);
        }
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
        auto* iface = owner_.interface_for(send_interface());
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
        auto* iface = owner_.interface_for(vip_interface());
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
        auto* iface = owner_.interface_for(vip_interface());
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
        auto* iface = owner_.interface_for(vip_interface());
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
    instance_set& owner_;
    instance_spec config_;
    std::string vmac_name_;
    election core_;
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
    std::vector<tracker_state> trackers_;  // interfaces, then scripts, then files
    std::vector<std::unique_ptr<script_run>> scripts_;
    bool tracker_fault_ = false;
    std::deque<child_spec> notify_queue_;
    bool notifying_ = false;
    std::optional<std::string> group_name_;
    std::map<std::string, std::string> saved_sysctls_;  // base interface values to restore
};

instance_set::router* instance_set::interface_state::find(address_family family,
                                                          std::uint8_t vrid) const {
    for (auto* r : routers) {
        if (r->config().family() == family && r->config().virtual_router_id == vrid) {
            return r;
        }
    }
    return nullptr;
}

struct instance_set::file_watch {
    explicit file_watch(asio::any_io_executor executor) : descriptor(std::move(executor)) {}
    asio::posix::stream_descriptor descriptor;
    std::map<int, std::string> folders;  // inotify watch -> folder
    struct watcher {
        router* owner;
        std::size_t tracker;
        std::string folder;
        std::string file;
    };
    std::vector<watcher> watchers;
};

instance_set::instance_set(asio::any_io_executor executor, event_log& log, address_effects& effects)
    : executor_(executor), log_(log), effects_(effects), runner_(executor) {}

instance_set::~instance_set() {
    // Routers first: their destructors unregister from the file watch.
    routers_.clear();
}

void instance_set::watch_file(router& owner, std::size_t tracker, const std::string& path) {
    if (!files_) {
        int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0) {
            log_.error("vrrp.track_file_failed", {{"path", path}, {"error", std::strerror(errno)}});
            return;
        }
        files_ = std::make_unique<file_watch>(executor_);
        files_->descriptor.assign(fd);
        on_file_events();
    }
    std::filesystem::path p(path);
    auto folder = p.parent_path().string();
    // The folder, not the file: the file may not exist yet, and editors replace files by rename.
    int wd =
        ::inotify_add_watch(files_->descriptor.native_handle(), folder.c_str(),
                            IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE);
    if (wd < 0) {
        log_.error("vrrp.track_file_failed", {{"path", path}, {"error", std::strerror(errno)}});
        return;
    }
    files_->folders[wd] = folder;
    files_->watchers.push_back({&owner, tracker, folder, p.filename().string()});
}

void instance_set::unwatch_files(router& owner) {
    if (files_) {
        std::erase_if(files_->watchers, [&](const auto& w) { return w.owner == &owner; });
    }
}

void instance_set::on_file_events() {
    files_->descriptor.async_wait(
        asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            alignas(inotify_event) char buffer[8192];
            for (;;) {
                auto n = ::read(files_->descriptor.native_handle(), buffer, sizeof buffer);
                if (n <= 0) {
                    break;
                }
                for (char* p = buffer; p < buffer + n;) {
                    auto* event = reinterpret_cast<inotify_event*>(p);
                    p += sizeof(inotify_event) + event->len;
                    auto folder = files_->folders.find(event->wd);
                    if (folder == files_->folders.end() || event->len == 0) {
                        continue;
                    }
                    std::string name = event->name;
                    // A copy: rereading may not change the list, but be safe.
                    auto watchers = files_->watchers;
                    for (const auto& w : watchers) {
                        if (w.folder == folder->second && w.file == name) {
                            w.owner->reread_file(w.tracker);
                        }
                    }
                }
            }
            on_file_events();
        });
}

void instance_set::build_groups() {
    for (auto& r : routers_) {
        r->core().set_group_gate(false);
        r->set_group_name(std::nullopt);
    }
    groups_.clear();
    for (const auto& config : group_configs_) {
        auto group = std::make_unique<sync_group>(config.name);
        for (const auto& member : config.instances) {
            for (auto& r : routers_) {
                if (r->config().name == member) {
                    group->add(r->core());
                    r->set_group_name(config.name);
                }
            }
        }
        groups_.push_back(std::move(group));
    }
}

void instance_set::react_group(router& from, const actions& produced) {
    for (auto& group : groups_) {
        if (!group->contains(from.core())) {
            continue;
        }
        auto moves = group->react(from.core(), produced, mono_clock::now());
        if (moves.empty()) {
            return;
        }
        field_value::list members;
        for (auto& [core, list] : moves) {
            for (auto& r : routers_) {
                if (&r->core() == core) {
                    r->perform_for_group(list);
                }
            }
        }
        for (auto* core : group->members()) {
            for (auto& r : routers_) {
                if (&r->core() == core) {
                    members.push_back(r->config().name + "=" +
                                      std::string(to_string(core->current_state())));
                }
            }
        }
        // One record after the members' own transitions: the group moved as one.
        log_.info(
            "vrrp.group_transition",
            {{"group", group->name()}, {"trigger", from.config().name}, {"members", members}});
        return;
    }
}

bool instance_set::notifying() const {
    return std::any_of(routers_.begin(), routers_.end(), [](const auto& r) { return r->busy(); });
}

instance_set::interface_state* instance_set::interface_for(const std::string& name) {
    auto& slot = interfaces_[name];
    if (!slot) {
        slot = std::make_unique<interface_state>();
        slot->name = name;
        slot->info = effects_.lookup(name);
    }
    return slot.get();
}

void instance_set::refresh_interface(interface_state& iface) {
    auto previous_index = iface.info ? iface.info->index : 0;
    iface.info = effects_.lookup(iface.name);
    if (!iface.info || iface.info->index != previous_index) {
        // The interface went away or was recreated: its sockets are bound to the old one.
        iface.v4.reset();
        iface.v6.reset();
        iface.sender.reset();
    }
}

std::optional<std::string> instance_set::open_sockets(interface_state& iface,
                                                      address_family family) {
    if (!iface.info) {
        return "interface " + iface.name + " does not exist";
    }
    std::string error;
    auto socket = vrrp_socket::open(executor_, iface.info->index, iface.name, family, error);
    if (!socket) {
        return error;
    }
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
    if (!iface.sender) {
        iface.sender = announcement_sender::open(iface.info->index, iface.name, error);
        if (!iface.sender) {
            return error;
        }
    }
    return std::nullopt;
}

void instance_set::on_link_event(const link_monitor::link_event& event) {
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
    for (auto& r : routers_) {
        r->on_tracked_link(iface.name, up);
    }
    // A change reaches the routers; so does every "down", which a faulted router ignores.
    if (up != was_up || !up) {
        for (auto* r : iface.routers) {
            r->on_link(up);
        }
    }
}

void instance_set::start_router(const instance_spec& config) {
    auto r = std::make_unique<router>(*this, config);
    auto* iface = interface_for(config.interface);
    iface->routers.push_back(r.get());
    routers_.push_back(std::move(r));
}

std::optional<std::string> instance_set::start(std::vector<instance_spec> routers,
                                               std::vector<sync_group_spec> groups) {
    group_configs_ = std::move(groups);
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
    std::vector<router*> fresh;
    for (const auto& config : routers) {
        start_router(config);
        fresh.push_back(routers_.back().get());
    }
    // Groups first, so members are gated from their first timer on.
    build_groups();
    for (auto* r : fresh) {
        r->start();
    }
    return std::nullopt;
}

std::optional<std::string> instance_set::reconfigure(std::vector<instance_spec> routers,
                                                     std::vector<sync_group_spec> groups) {
    std::vector<instance_spec> to_start;
    // Resign routers that are gone or changed.
    for (auto it = routers_.begin(); it != routers_.end();) {
        auto& current = (*it)->config();
        // Names are unique, so at most one wanted router can match.
        auto wanted = std::find_if(routers.begin(), routers.end(), [&](const instance_spec& c) {
            return same_settings(c, current) || changes_in_place(c, current);
        });
        if (wanted != routers.end()) {
            (*it)->update_in_place(*wanted);  // nothing to do when unchanged
            routers.erase(wanted);            // keeps its state, timers and VIPs
            ++it;
            continue;
        }
        (*it)->shutdown();
        auto* iface = interface_for(current.interface);
        std::erase(iface->routers, it->get());
        it = routers_.erase(it);
    }
    if (routers_.empty() && routers.empty()) {
        group_configs_ = std::move(groups);
        build_groups();
        return std::nullopt;
    }
    return start(std::move(routers), std::move(groups));
}

void instance_set::shutdown() {
    for (auto& r : routers_) {
        r->shutdown();
    }
}

std::vector<instance_status> instance_set::status() const {
    std::vector<instance_status> out;
    for (const auto& r : routers_) {
        out.push_back(r->status());
    }
    return out;
}

}  // namespace vigil::vrrp
