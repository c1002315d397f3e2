#include "ipvs/desired_state.hpp"

namespace vigil::ipvs {

namespace {

bool same_real_server(const real_server_spec& a, const real_server_spec& b) {
    return a.name == b.name && a.address == b.address && a.weight == b.weight &&
           a.upper_threshold == b.upper_threshold && a.lower_threshold == b.lower_threshold &&
           a.forward == b.forward;
}

bool same_health(const real_server_health& a, const real_server_health& b) {
    return a.up == b.up && a.weight == b.weight;
}

}  // namespace

bool same_spec(const virtual_server_spec& a, const virtual_server_spec& b) {
    if (!(a.name == b.name && a.settings.key == b.settings.key &&
          a.settings.same_settings(b.settings) && a.method == b.method && a.quorum == b.quorum &&
          a.hysteresis == b.hysteresis && a.sorry_server == b.sorry_server &&
          a.on_failure == b.on_failure && a.real_servers.size() == b.real_servers.size())) {
        return false;
    }
    for (std::size_t i = 0; i < a.real_servers.size(); ++i) {
        if (!same_real_server(a.real_servers[i], b.real_servers[i])) {
            return false;
        }
    }
    return true;
}

real_server_health desired_state::health_of(const std::string& name) const {
    auto it = health_.find(name);
    return it == health_.end() ? real_server_health{} : it->second;
}

std::optional<quorum_event> desired_state::recompute(std::size_t server,
                                                     std::optional<bool> previous) {
    const auto& vs = specs_[server];
    auto& state = states_[server];
    std::map<ip_endpoint, destination> dests;
    std::uint64_t healthy_weight = 0;
    for (const auto& rs : vs.real_servers) {
        auto h = health_of(rs.name);
        healthy_weight += healthy_weight_of(rs, h);
        if (auto d = destination_for(vs, rs, h)) {
            dests[rs.address] = *d;
        }
    }
    bool up = next_quorum_state(previous, healthy_weight, vs.quorum, vs.hysteresis);
    bool sorry = !up && vs.sorry_server.has_value();
    if (sorry) {
        dests.clear();
        auto d = sorry_destination(vs);
        dests[d.address] = d;
    }
    state = {up, healthy_weight, sorry};
    auto& entry = desired_[vs.settings.key];
    entry.settings = vs.settings;
    entry.settings.stats = {};
    entry.destinations = std::move(dests);
    if ((!previous && !up) || (previous && *previous != up)) {
        return quorum_event{vs.name, up, healthy_weight, vs.quorum, vs.hysteresis, sorry};
    }
    return std::nullopt;
}

void desired_state::index() {
    by_virtual_server_.clear();
    by_real_server_.clear();
    for (std::size_t s = 0; s < specs_.size(); ++s) {
        by_virtual_server_[specs_[s].name] = s;
        for (std::size_t r = 0; r < specs_[s].real_servers.size(); ++r) {
            by_real_server_[specs_[s].real_servers[r].name] = {s, r};
        }
    }
}

desired_change desired_state::set_specs(std::vector<virtual_server_spec> specs) {
    desired_change change;
    configured_ = true;
    auto old_specs = std::move(specs_);
    auto old_states = std::move(states_);
    auto old_index = std::move(by_virtual_server_);
    specs_ = std::move(specs);
    states_.assign(specs_.size(), server_state{});
    index();

    std::set<std::string, std::less<>> configured;
    for (const auto& vs : specs_) {
        for (const auto& rs : vs.real_servers) {
            configured.insert(rs.name);
        }
    }
    std::erase_if(health_, [&](const auto& entry) { return !configured.contains(entry.first); });

    // Entries of virtual servers that left or changed go first, so a key that moves from one
    // virtual server to another is not erased after its new owner wrote it.
    std::vector<bool> unchanged(specs_.size(), false);
    for (std::size_t s = 0; s < specs_.size(); ++s) {
        auto old = old_index.find(specs_[s].name);
        if (old != old_index.end() && same_spec(old_specs[old->second], specs_[s])) {
            unchanged[s] = true;
            states_[s] = old_states[old->second];
        }
    }
    for (const auto& old : old_specs) {
        auto now = by_virtual_server_.find(old.name);
        if (now == by_virtual_server_.end() || !unchanged[now->second]) {
            desired_.erase(old.settings.key);
            change.services.insert(old.settings.key);
        }
    }
    for (std::size_t s = 0; s < specs_.size(); ++s) {
        if (unchanged[s]) {
            continue;
        }
        std::optional<bool> previous;
        if (auto old = old_index.find(specs_[s].name); old != old_index.end()) {
            previous = old_states[old->second].quorum_up;
        }
        if (auto event = recompute(s, previous)) {
            change.events.push_back(std::move(*event));
        }
        change.services.insert(specs_[s].settings.key);
    }
    return change;
}

desired_change desired_state::set_health(std::string_view real_server,
                                         const real_server_health& health) {
    desired_change change;
    auto stored = health_.find(real_server);
    // A real server without a result yet counts as up at its configured weight.
    real_server_health before = stored == health_.end() ? real_server_health{} : stored->second;
    if (stored == health_.end()) {
        health_.emplace(std::string(real_server), health);
    } else {
        stored->second = health;
    }
    if (same_health(before, health)) {
        return change;
    }
    auto ref = by_real_server_.find(real_server);
    if (ref == by_real_server_.end()) {
        return change;
    }
    const auto& vs = specs_[ref->second.server];
    const auto& rs = vs.real_servers[ref->second.index];
    auto& state = states_[ref->second.server];
    state.healthy_weight =
        state.healthy_weight - healthy_weight_of(rs, before) + healthy_weight_of(rs, health);
    bool up = next_quorum_state(state.quorum_up, state.healthy_weight, vs.quorum, vs.hysteresis);
    bool sorry = !up && vs.sorry_server.has_value();
    if (up != state.quorum_up || sorry != state.sorry_server_active) {
        if (auto event = recompute(ref->second.server, state.quorum_up)) {
            change.events.push_back(std::move(*event));
        }
        change.services.insert(vs.settings.key);
        return change;
    }
    if (state.sorry_server_active) {
        return change;  // the sorry server stands in whatever this real server does
    }
    auto& dests = desired_[vs.settings.key].destinations;
    if (auto d = destination_for(vs, rs, health)) {
        dests[rs.address] = *d;
    } else {
        dests.erase(rs.address);
    }
    change.destinations.insert({vs.settings.key, rs.address});
    return change;
}

std::map<std::string, virtual_server_state, std::less<>> desired_state::virtual_servers() const {
    std::map<std::string, virtual_server_state, std::less<>> out;
    for (std::size_t s = 0; s < specs_.size(); ++s) {
        out[specs_[s].name] = {states_[s].quorum_up, states_[s].healthy_weight,
                               states_[s].sorry_server_active};
    }
    return out;
}

}  // namespace vigil::ipvs
