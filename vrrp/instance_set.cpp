#include "vrrp/instance_set.hpp"

#include <algorithm>
#include <utility>

#include "vrrp/reload_effect.hpp"

namespace vigil::vrrp {

instance_set::instance_set(boost::asio::any_io_executor executor, event_log& log,
                           address_effects& effects)
    : executor_(executor),
      log_(log),
      effects_(effects),
      clock_(executor),
      runner_(executor),
      files_(executor, log),
      interfaces_(executor, effects) {}

instance_set::~instance_set() {
    // Instances first: they unregister from the interfaces and the file watcher.
    for (auto& i : instances_) {
        interfaces_.detach(*i);
    }
    instances_.clear();
}

void instance_set::build_groups() {
    for (auto& i : instances_) {
        i->core().set_group_gate(false);
        i->set_group_name(std::nullopt);
    }
    groups_.clear();
    for (const auto& spec : group_specs_) {
        auto group = std::make_unique<sync_group>(spec.name);
        for (const auto& member : spec.instances) {
            for (auto& i : instances_) {
                if (i->spec().name == member) {
                    group->add(i->core());
                    i->set_group_name(spec.name);
                }
            }
        }
        groups_.push_back(std::move(group));
    }
}

void instance_set::react_group(instance& from, const actions& produced) {
    for (auto& group : groups_) {
        if (!group->contains(from.core())) {
            continue;
        }
        auto moves = group->react(from.core(), produced, clock_.now());
        if (moves.empty()) {
            return;
        }
        for (auto& [core, list] : moves) {
            for (auto& i : instances_) {
                if (&i->core() == core) {
                    i->perform_for_group(list);
                }
            }
        }
        field_value::list members;
        for (auto* core : group->members()) {
            for (auto& i : instances_) {
                if (&i->core() == core) {
                    members.push_back(i->spec().name + "=" +
                                      std::string(to_string(core->current_state())));
                }
            }
        }
        // One record after the members' own transitions: the group moved as one.
        log_.info("vrrp.group_transition",
                  {{"group", group->name()}, {"trigger", from.spec().name}, {"members", members}});
        return;
    }
}

bool instance_set::notifying() const {
    return std::any_of(instances_.begin(), instances_.end(),
                       [](const auto& i) { return i->busy(); });
}

void instance_set::on_link_event(const link_monitor::link_event& event) {
    auto name = interfaces_.name_of(event.name, event.index);
    if (!name) {
        return;
    }
    const auto* before = interfaces_.find(*name);
    bool was_up = before && before->link_up;
    interfaces_.refresh(*name);
    const auto* after = interfaces_.find(*name);
    bool up = after && after->link_up && !event.removed;
    for (auto& i : instances_) {
        i->on_tracked_link(*name, up);
    }
    // A change reaches the instances; so does every "down", which a faulted instance ignores.
    if (up != was_up || !up) {
        auto members = interfaces_.members(*name);  // a copy: reactions may not change it
        for (auto* i : members) {
            i->on_link(up);
        }
    }
}

void instance_set::start_instance(const instance_spec& spec) {
    auto i = std::make_unique<instance>(
        spec,
        instance_environment{clock_, interfaces_, effects_, interfaces_, log_, runner_, &files_});
    i->on_actions([this](instance& from, const actions& produced) { react_group(from, produced); });
    i->on_state_change([this](const std::string& name, state to) {
        if (state_listener_) {
            state_listener_(name, to);
        }
    });
    interfaces_.attach(*i);
    instances_.push_back(std::move(i));
}

std::optional<std::string> instance_set::start_links() {
    links_ = std::make_unique<link_monitor>(
        executor_, [this](const link_monitor::link_event& e) { on_link_event(e); },
        [this] {
            for (const auto& name : interfaces_.names()) {
                link_monitor::link_event e;
                e.name = name;
                const auto* info = interfaces_.find(name);
                e.index = info ? info->index : 0;
                on_link_event(e);
            }
        });
    if (auto error = links_->start()) {
        links_.reset();
        return error;
    }
    return std::nullopt;
}

void instance_set::launch(const std::vector<instance_spec>& specs) {
    std::vector<instance*> fresh;
    for (const auto& spec : specs) {
        start_instance(spec);
        fresh.push_back(instances_.back().get());
    }
    // Groups first, so members are gated from their first timer on.
    build_groups();
    for (auto* i : fresh) {
        i->start();
    }
}

std::optional<std::string> instance_set::start(std::vector<instance_spec> specs,
                                               std::vector<sync_group_spec> groups) {
    group_specs_ = std::move(groups);
    if (!specs.empty() && !links_) {
        if (auto error = start_links()) {
            return error;
        }
    }
    for (const auto& spec : specs) {
        if (interfaces_.find(spec.interface)) {
            if (auto error = interfaces_.open(spec.interface, spec.family())) {
                return "instance " + spec.name + ": " + *error;
            }
        }
    }
    launch(specs);
    return std::nullopt;
}

instance_set::prepared::prepared(prepared&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      specs_(std::move(other.specs_)),
      groups_(std::move(other.groups_)),
      opened_(std::move(other.opened_)),
      started_links_(other.started_links_) {}

instance_set::prepared& instance_set::prepared::operator=(prepared&& other) noexcept {
    if (this != &other) {
        if (owner_) {
            owner_->release(*this);
        }
        owner_ = std::exchange(other.owner_, nullptr);
        specs_ = std::move(other.specs_);
        groups_ = std::move(other.groups_);
        opened_ = std::move(other.opened_);
        started_links_ = other.started_links_;
    }
    return *this;
}

instance_set::prepared::~prepared() {
    if (owner_) {
        owner_->release(*this);
    }
}

void instance_set::release(prepared& change) {
    for (const auto& [interface, family] : change.opened_) {
        interfaces_.close(interface, family);
    }
    change.opened_.clear();
    if (change.started_links_ && instances_.empty()) {
        links_.reset();
    }
    change.owner_ = nullptr;
}

boost::system::result<instance_set::prepared, std::vector<std::string>> instance_set::prepare(
    std::vector<instance_spec> specs, std::vector<sync_group_spec> groups) {
    prepared change(*this);
    std::vector<std::string> errors;
    bool any_fresh = false;
    for (const auto& spec : specs) {
        bool kept = std::any_of(instances_.begin(), instances_.end(), [&](const auto& i) {
            return spec.name == i->spec().name &&
                   classify_reload(spec, i->spec()) != reload_effect::restart;
        });
        if (kept) {
            continue;
        }
        any_fresh = true;
        if (!interfaces_.find(spec.interface)) {
            // Looked up again: it may have appeared since the table last asked.
            interfaces_.refresh(spec.interface);
        }
        if (!interfaces_.find(spec.interface)) {
            errors.push_back("instance " + spec.name + ": interface " + spec.interface +
                             " does not exist");
            continue;
        }
        if (interfaces_.is_open(spec.interface, spec.family())) {
            continue;
        }
        if (auto error = interfaces_.open(spec.interface, spec.family())) {
            errors.push_back("instance " + spec.name + ": " + *error);
            continue;
        }
        change.opened_.emplace_back(spec.interface, spec.family());
    }
    if (errors.empty() && any_fresh && !links_) {
        if (auto error = start_links()) {
            errors.push_back("link monitor: " + *error);
        } else {
            change.started_links_ = true;
        }
    }
    if (!errors.empty()) {
        return {boost::system::in_place_error, std::move(errors)};  // `change` releases
    }
    change.specs_ = std::move(specs);
    change.groups_ = std::move(groups);
    return change;
}

void instance_set::commit(prepared change) {
    change.owner_ = nullptr;  // what it opened is in use from now on
    auto specs = std::move(change.specs_);
    // Resign instances that are gone or changed beyond what applies in place.
    for (auto it = instances_.begin(); it != instances_.end();) {
        const auto& current = (*it)->spec();
        // Names are unique, so at most one wanted instance can match.
        auto wanted = std::find_if(specs.begin(), specs.end(), [&](const instance_spec& s) {
            return s.name == current.name && classify_reload(s, current) != reload_effect::restart;
        });
        if (wanted != specs.end()) {
            (*it)->update_in_place(*wanted);  // nothing to do when unchanged
            specs.erase(wanted);              // keeps its state, timers and VIPs
            ++it;
            continue;
        }
        (*it)->shutdown();
        interfaces_.detach(**it);
        it = instances_.erase(it);
    }
    group_specs_ = std::move(change.groups_);
    if (specs.empty()) {
        build_groups();
        return;
    }
    launch(specs);
}

void instance_set::shutdown() {
    for (auto& i : instances_) {
        i->shutdown();
    }
}

std::vector<instance_status> instance_set::status() const {
    std::vector<instance_status> out;
    for (const auto& i : instances_) {
        out.push_back(i->status());
    }
    return out;
}

}  // namespace vigil::vrrp
