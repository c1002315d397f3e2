#include "vrrp/sync_group.hpp"

#include <algorithm>

namespace vigil::vrrp {

void sync_group::add(election& member) {
    members_.push_back(&member);
    // A lone member has nobody to wait for.
    for (auto* m : members_) {
        m->set_group_gate(members_.size() > 1);
    }
}

bool sync_group::contains(const election& member) const {
    return std::find(members_.begin(), members_.end(), &member) != members_.end();
}

std::vector<std::pair<election*, actions>> sync_group::react(election& member,
                                                             const actions& produced,
                                                             time_point now) {
    std::vector<std::pair<election*, actions>> out;
    auto apply = [&](election* m, actions (election::*move)(time_point)) {
        auto result = (m->*move)(now);
        if (!result.empty()) {
            out.emplace_back(m, std::move(result));
        }
    };
    auto others = [&] {
        std::vector<election*> list;
        for (auto* m : members_) {
            if (m != &member) {
                list.push_back(m);
            }
        }
        return list;
    };
    for (const auto& a : produced) {
        if (std::holds_alternative<request_master>(a)) {
            bool all_ready = std::all_of(members_.begin(), members_.end(), [&](election* m) {
                return m == &member || m->wants_master() || m->current_state() == state::master;
            });
            if (all_ready) {
                for (auto* m : members_) {
                    apply(m, &election::force_master);
                }
            }
            continue;
        }
        if (std::holds_alternative<own_fault_cleared>(a)) {
            bool any_fault = std::any_of(members_.begin(), members_.end(),
                                         [](election* m) { return m->own_fault(); });
            if (!any_fault) {
                for (auto* m : members_) {
                    apply(m, &election::release_group_fault);
                }
            }
            continue;
        }
        const auto* t = std::get_if<transition>(&a);
        if (!t || t->reason == transition_reason::sync_group ||
            t->reason == transition_reason::shutdown) {
            continue;
        }
        if (t->to == state::fault) {
            for (auto* m : others()) {
                apply(m, &election::force_fault);
            }
        } else if (t->from == state::fault) {
            // A member recovered: the group follows unless another still has a fault of its own,
            // in which case this one is held in FAULT with the rest.
            auto list = others();
            bool other_fault =
                std::any_of(list.begin(), list.end(), [](election* m) { return m->own_fault(); });
            if (other_fault) {
                apply(&member, &election::force_fault);
            } else {
                for (auto* m : list) {
                    apply(m, &election::release_group_fault);
                }
            }
        } else if (t->to == state::master) {
            for (auto* m : others()) {
                apply(m, &election::force_master);
            }
        } else if (t->from == state::master && t->to == state::backup) {
            for (auto* m : others()) {
                apply(m, &election::force_backup);
            }
        }
    }
    return out;
}

}  // namespace vigil::vrrp
