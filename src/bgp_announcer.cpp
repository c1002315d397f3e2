#include "bgp_announcer.hpp"

#include <algorithm>
#include <filesystem>

#include "announce/bird_config.hpp"
#include "base/durable_file.hpp"
#include "status.hpp"

namespace vigil {

using namespace std::chrono_literals;

using announce::withdraw_reason;

namespace {

// How often BIRD's protocol states are read for `vigil status` (and a lost BIRD noticed), and
// how soon a failed configure is tried again.
constexpr auto poll_interval = 5s;
constexpr auto retry_interval = 1s;
// At most one bgp.bird_failed record per this while the failure goes on.
constexpr auto failure_log_interval = std::chrono::seconds(60);

const char* announced_reason(const std::string& withdrawn_for) {
    if (withdrawn_for == "quorum_lost" || withdrawn_for == "hold_down") {
        return "quorum_regained";
    }
    if (withdrawn_for == "drained") {
        return "undrained";
    }
    if (withdrawn_for == "node_draining") {
        return "node_undrained";
    }
    if (withdrawn_for == "bird_error") {
        return "bird_recovered";
    }
    return "startup";
}

ip_prefix host_prefix(const ip_address& address) {
    return ip_prefix{address, address.is_v4() ? 32u : 128u};
}

}  // namespace

bgp_announcer::bgp_announcer(boost::asio::any_io_executor executor, event_log& log,
                             clock_source& clock, health_source health)
    : executor_(std::move(executor)),
      log_(log),
      clock_(clock),
      health_(std::move(health)),
      poll_timer_(clock.make_timer()),
      hold_timer_(clock.make_timer()) {}

bgp_announcer::~bgp_announcer() {
    poll_timer_->cancel();
    hold_timer_->cancel();
    bird_.reset();
    // Closing the device withdraws every route at once; the include file keeps the last state
    // for a BIRD that restarts (without the device nothing in it is announced).
    link_.close();
}

bool bgp_announcer::wanted(const config::configuration& config) {
    return std::any_of(config.virtual_servers.begin(), config.virtual_servers.end(),
                       [](const auto& vs) { return vs.announce.has_value(); });
}

bool bgp_announcer::announces(const std::string& virtual_server) const {
    return std::any_of(entries_.begin(), entries_.end(), [&](const entry& e) {
        return std::find(e.spec.virtual_servers.begin(), e.spec.virtual_servers.end(),
                         virtual_server) != e.spec.virtual_servers.end();
    });
}

bool bgp_announcer::configure(const config::configuration& config,
                              std::optional<announce::liveness_link> opened) {
    bool first = !bird_;
    settings_ = config.global.bgp;
    if (!bird_) {
        bird_ =
            std::make_unique<announce::bird_control>(executor_, clock_, settings_.bird_socket, 2s);
    } else {
        bird_->set_socket_path(settings_.bird_socket);
    }
    if (opened) {
        link_ = std::move(*opened);
    } else if (!link_.is_open() || link_.name() != settings_.liveness_interface) {
        if (auto error = link_.open(settings_.liveness_interface)) {
            log_.error("bgp.link_failed", {{"interface", settings_.liveness_interface},
                                           {"operation", "create"},
                                           {"error", std::string(announce::liveness_link::device) +
                                                         ": " + error.message()}});
            return false;
        }
    }
    // One entry per prefix; virtual servers sharing it share its route (validation made them
    // agree on MED and communities). An unchanged prefix keeps its policy: a hold-down running
    // goes on through a reload.
    std::vector<entry> next;
    for (const auto& vs : config.virtual_servers) {
        if (!vs.announce) {
            continue;
        }
        auto found = std::find_if(next.begin(), next.end(), [&](const entry& e) {
            return e.spec.prefix == vs.announce->prefix;
        });
        if (found != next.end()) {
            found->spec.virtual_servers.push_back(vs.name);
            continue;
        }
        announce::announcement_spec spec;
        spec.protocol = announce::protocol_name(vs.name);
        spec.prefix = vs.announce->prefix;
        spec.virtual_servers = {vs.name};
        spec.med = vs.announce->med;
        spec.med_per_down_server = vs.announce->med_per_down_server;
        spec.communities = vs.announce->communities;
        auto old = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) {
            return e.spec.prefix == spec.prefix && e.spec.protocol == spec.protocol;
        });
        if (old != entries_.end()) {
            entry kept = *old;
            kept.spec = std::move(spec);
            kept.policy.set(settings_.hold_down, kept.spec.med, kept.spec.med_per_down_server);
            next.push_back(std::move(kept));
        } else {
            next.push_back(entry{spec,
                                 announce::announcement_policy(settings_.hold_down, spec.med,
                                                               spec.med_per_down_server),
                                 {},
                                 std::nullopt,
                                 first ? "startup" : "reload",
                                 std::chrono::system_clock::now(),
                                 first ? "startup" : "reload",
                                 false});
        }
    }
    for (const auto& old : entries_) {
        bool kept = std::any_of(next.begin(), next.end(), [&](const entry& e) {
            return e.spec.protocol == old.spec.protocol && e.spec.prefix == old.spec.prefix;
        });
        if (!kept && old.logged_announced.value_or(false)) {
            log_.warning("bgp.withdrawn", {{"prefix", to_string(old.spec.prefix)},
                                           {"protocol", old.spec.protocol},
                                           {"reason", "reload"}});
        }
    }
    entries_ = std::move(next);
    place_vips(config);
    evaluate();
    if (first) {
        arm_poll(poll_interval);
    }
    return true;
}

void bgp_announcer::place_vips(const config::configuration& config) {
    std::vector<ip_prefix> wanted_vips;
    for (const auto& vs : config.virtual_servers) {
        if (!vs.announce) {
            continue;
        }
        auto vip = vs.address ? host_prefix(vs.address->address) : vs.announce->prefix;
        if (std::find(wanted_vips.begin(), wanted_vips.end(), vip) == wanted_vips.end()) {
            wanted_vips.push_back(vip);
        }
    }
    if (!addresses_) {
        addresses_ = std::make_unique<vrrp::netlink_effects>();
    }
    auto iface = addresses_->lookup(settings_.vip_interface);
    if (!iface) {
        log_.error("bgp.vip_failed", {{"interface", settings_.vip_interface},
                                      {"operation", "add"},
                                      {"error", "no such interface"}});
        return;
    }
    for (const auto& vip : placed_vips_) {
        if (std::find(wanted_vips.begin(), wanted_vips.end(), vip) == wanted_vips.end()) {
            auto removed = addresses_->remove(iface->index, vip);
            if (removed.outcome == vrrp::address_change::failed) {
                log_.error("bgp.vip_failed", {{"interface", settings_.vip_interface},
                                              {"address", to_string(vip)},
                                              {"operation", "remove"},
                                              {"error", removed.error}});
            }
        }
    }
    placed_vips_.clear();
    for (const auto& vip : wanted_vips) {
        auto added = addresses_->add(iface->index, vip);
        if (added.outcome == vrrp::address_change::failed) {
            log_.error("bgp.vip_failed", {{"interface", settings_.vip_interface},
                                          {"address", to_string(vip)},
                                          {"operation", "add"},
                                          {"error", added.error}});
            continue;
        }
        placed_vips_.push_back(vip);
    }
}

void bgp_announcer::evaluate() {
    auto now = clock_.now();
    std::optional<time_point> wake;
    for (auto& e : entries_) {
        announce::announcement_inputs inputs;
        for (const auto& name : e.spec.virtual_servers) {
            auto health = health_(name);
            inputs.quorum_held = inputs.quorum_held && health.quorum_up;
            inputs.drained = inputs.drained || health.drained;
            inputs.servers_down += health.servers_down;
        }
        e.decision = e.policy.evaluate(inputs, mode_, now);
        if (e.decision.hold_until && (!wake || *e.decision.hold_until < *wake)) {
            wake = e.decision.hold_until;
        }
    }
    if (wake) {
        hold_timer_->arm(*wake, [this] { evaluate(); });
    } else {
        hold_timer_->cancel();
    }
    render_and_push();
    update_link();
    log_effects(nullptr);
}

void bgp_announcer::set_node_mode(announce::node_mode mode) {
    if (mode_ == announce::node_mode::stopping) {
        return;  // a stop is never undone
    }
    mode_ = mode;
    // The link goes down first (evaluate's update_link): every route is withdrawn at once,
    // before BIRD has even read the new file.
    evaluate();
}

void bgp_announcer::render_and_push() {
    if (!bird_) {
        return;
    }
    std::vector<announce::rendered_route> routes;
    for (const auto& e : entries_) {
        routes.push_back({&e.spec, e.decision.announce, e.decision.med});
    }
    auto text = announce::render_bird_config(routes, settings_.liveness_interface);
    if (in_flight_) {
        push_again_ = push_again_ || text != *in_flight_ || !bird_ok_;
        return;
    }
    if (bird_ok_ && accepted_ == text) {
        return;
    }
    std::filesystem::path file(settings_.include_file);
    std::error_code error;
    std::filesystem::create_directories(file.parent_path(), error);
    error = replace_file_durably(file, text);
    if (!error) {
        // BIRD (user bird on Debian) must read it; nothing in it is secret.
        std::filesystem::permissions(file, std::filesystem::perms(0644),
                                     std::filesystem::perm_options::replace, error);
        error = {};
    }
    if (error) {
        bird_failed("cannot write " + settings_.include_file + ": " + error.message());
        return;
    }
    in_flight_ = text;
    bird_->command("configure", [this, text](announce::bird_control::outcome outcome) {
        on_configured(text, std::move(outcome));
    });
}

void bgp_announcer::on_configured(const std::string& text,
                                  announce::bird_control::outcome outcome) {
    in_flight_.reset();
    std::string error;
    if (auto* reply = std::get_if<announce::bird_reply>(&outcome)) {
        if (!reply->ok()) {
            error = "configure refused: " + reply->message();
        }
    } else {
        error = "configure: " + std::get<std::string>(outcome);
    }
    if (error.empty()) {
        accepted_ = text;
        if (!bird_ok_ && !last_error_.empty()) {
            log_.info("bgp.bird_connected", {{"socket", settings_.bird_socket}});
        }
        bird_ok_ = true;
        last_error_.clear();
    } else {
        bird_failed(error);
    }
    update_link();
    log_effects(nullptr);
    if (push_again_) {
        push_again_ = false;
        render_and_push();
        update_link();
        log_effects(nullptr);
    }
}

void bgp_announcer::bird_failed(const std::string& error) {
    static_cast<void>(failure_log_interval);
    bool first = bird_ok_ || last_error_ != error;
    bird_ok_ = false;
    last_error_ = error;
    if (first) {
        // The fallback: with the link down BIRD withdraws every route whatever it last read.
        log_.error("bgp.bird_failed", {{"socket", settings_.bird_socket},
                                       {"error", error},
                                       {"action", "liveness link down: every prefix withdrawn"}});
    }
    update_link();
    arm_poll(retry_interval);
}

void bgp_announcer::update_link() {
    if (!link_.is_open()) {
        return;
    }
    bool want_up = mode_ == announce::node_mode::serving && bird_ok_;
    if (link_.up() == want_up) {
        return;
    }
    if (auto error = link_.set_up(want_up)) {
        log_.error("bgp.link_failed", {{"interface", link_.name()},
                                       {"operation", want_up ? "up" : "down"},
                                       {"error", error.message()}});
    }
}

void bgp_announcer::log_effects(const char*) {
    for (auto& e : entries_) {
        bool in_effect = e.decision.announce && link_.up();
        std::string reason;
        if (!in_effect) {
            reason = e.decision.reason ? std::string(announce::to_string(*e.decision.reason))
                                       : "bird_error";
        }
        if (e.logged_announced == in_effect &&
            (in_effect || reason == e.reason || reason == "hold_down")) {
            continue;
        }
        bool was_announced = e.logged_announced.value_or(false);
        auto previous = e.reason;
        if (e.logged_announced == in_effect && !in_effect) {
            // Still withdrawn, for another reason: no event, the status says the new reason.
            e.reason = reason;
            continue;
        }
        e.logged_announced = in_effect;
        e.since = std::chrono::system_clock::now();
        if (in_effect) {
            log_.info("bgp.announced",
                      {{"prefix", to_string(e.spec.prefix)},
                       {"protocol", e.spec.protocol},
                       {"virtual_servers", field_value::list(e.spec.virtual_servers.begin(),
                                                             e.spec.virtual_servers.end())},
                       {"reason", e.announced_once ? announced_reason(previous) : e.initial_reason},
                       {"med", static_cast<std::int64_t>(e.decision.med)}});
            e.reason.clear();
            e.announced_once = true;
        } else {
            e.reason = reason;
            if (was_announced) {
                log_.warning("bgp.withdrawn",
                             {{"prefix", to_string(e.spec.prefix)},
                              {"protocol", e.spec.protocol},
                              {"virtual_servers", field_value::list(e.spec.virtual_servers.begin(),
                                                                    e.spec.virtual_servers.end())},
                              {"reason", reason}});
            }
        }
    }
}

void bgp_announcer::arm_poll(std::chrono::milliseconds after) {
    auto at = clock_.now() + after;
    if (auto armed = poll_timer_->armed_for(); armed && *armed <= at) {
        return;
    }
    poll_timer_->arm(at, [this] { poll(); });
}

void bgp_announcer::poll() {
    if (!bird_) {
        return;
    }
    bird_->command("show protocols", [this](announce::bird_control::outcome outcome) {
        on_polled(std::move(outcome));
    });
}

void bgp_announcer::on_polled(announce::bird_control::outcome outcome) {
    auto* reply = std::get_if<announce::bird_reply>(&outcome);
    bool reachable = reply && reply->ok();
    if (reachable) {
        protocols_ = announce::parse_show_protocols(*reply);
        protocols_at_ = std::chrono::system_clock::now();
        if (!bird_ok_ || !protocols_reachable_) {
            // BIRD is back (or was restarted): tell it the current file again.
            accepted_.reset();
            render_and_push();
        }
    } else {
        auto why =
            reply ? "show protocols refused: " + reply->message() : std::get<std::string>(outcome);
        if (protocols_reachable_) {
            log_.warning("bgp.bird_unreachable",
                         {{"socket", settings_.bird_socket}, {"error", why}});
        }
        protocols_.clear();
        if (last_error_.empty()) {
            last_error_ = why;
        }
    }
    protocols_reachable_ = reachable;
    arm_poll(reachable && bird_ok_ ? poll_interval : retry_interval);
}

std::vector<std::pair<std::string, bool>> bgp_announcer::announced() const {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& e : entries_) {
        out.emplace_back(to_string(e.spec.prefix), e.logged_announced.value_or(false));
    }
    return out;
}

bgp_status bgp_announcer::status() const {
    bgp_status out;
    out.bird_socket = settings_.bird_socket;
    out.include_file = settings_.include_file;
    out.liveness_interface = settings_.liveness_interface;
    out.liveness_up = link_.up();
    out.bird_reachable = protocols_reachable_;
    out.bird_accepted = bird_ok_;
    out.last_error = last_error_;
    out.node_mode = mode_ == announce::node_mode::serving    ? "serving"
                    : mode_ == announce::node_mode::draining ? "draining"
                                                             : "stopping";
    out.hold_down_ms = settings_.hold_down.count();
    auto now = clock_.now();
    out.announcements.reserve(entries_.size());
    for (const auto& e : entries_) {
        bgp_status::announcement a;
        a.prefix = to_string(e.spec.prefix);
        a.protocol = e.spec.protocol;
        a.virtual_servers = e.spec.virtual_servers;
        bool in_effect = e.logged_announced.value_or(false);
        a.state = in_effect                                         ? "announced"
                  : e.decision.reason == withdraw_reason::hold_down ? "hold_down"
                                                                    : "withdrawn";
        a.reason = e.reason;
        a.med = e.decision.med;
        a.since = e.since;
        if (e.decision.hold_until) {
            a.hold_down_left_ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(*e.decision.hold_until - now)
                    .count();
        }
        for (const auto& p : protocols_) {
            if (p.name == e.spec.protocol) {
                a.bird_state = p.state;
            }
        }
        out.announcements.push_back(std::move(a));
    }
    out.bird_protocols = protocols_;
    out.bird_protocols_at = protocols_at_;
    return out;
}

}  // namespace vigil
