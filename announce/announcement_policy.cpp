#include "announce/announcement_policy.hpp"

#include <limits>

namespace vigil::announce {

std::string_view to_string(withdraw_reason reason) {
    switch (reason) {
        case withdraw_reason::stopping:
            return "stopping";
        case withdraw_reason::node_draining:
            return "node_draining";
        case withdraw_reason::bird_error:
            return "bird_error";
        case withdraw_reason::drained:
            return "drained";
        case withdraw_reason::quorum_lost:
            return "quorum_lost";
        case withdraw_reason::hold_down:
            return "hold_down";
    }
    return "unknown";
}

announcement_decision announcement_policy::evaluate(const announcement_inputs& inputs,
                                                    node_mode node, time_point now) {
    // The quorum memory moves whatever else withdraws the prefix: a hold-down counts from the
    // moment the quorum came back, even while the node was draining.
    if (!inputs.quorum_held) {
        held_since_.reset();
    } else if (!quorum_was_held_) {
        held_since_ = now;
    }
    quorum_was_held_ = inputs.quorum_held;
    if (held_since_ && now - *held_since_ >= hold_down_) {
        held_since_.reset();
    }

    announcement_decision decision;
    std::uint64_t med = med_ + std::uint64_t{med_per_down_server_} * inputs.servers_down;
    decision.med = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(med, std::numeric_limits<std::uint32_t>::max()));
    if (node == node_mode::stopping) {
        decision.reason = withdraw_reason::stopping;
    } else if (node == node_mode::draining) {
        decision.reason = withdraw_reason::node_draining;
    } else if (inputs.drained) {
        decision.reason = withdraw_reason::drained;
    } else if (!inputs.quorum_held) {
        decision.reason = withdraw_reason::quorum_lost;
    } else if (held_since_) {
        decision.reason = withdraw_reason::hold_down;
    }
    if (held_since_) {
        decision.hold_until = *held_since_ + hold_down_;
    }
    decision.announce = !decision.reason;
    return decision;
}

}  // namespace vigil::announce
