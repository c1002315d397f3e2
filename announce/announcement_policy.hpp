#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/clock.hpp"

namespace vigil::announce {

// Why a prefix is not announced. The order is the precedence: the first that applies is the
// reason given.
enum class withdraw_reason { stopping, node_draining, bird_error, drained, quorum_lost, hold_down };
std::string_view to_string(withdraw_reason reason);

// What the node as a whole is doing: serving, withdrawing everything for maintenance
// (`vigil drain-node`), or on its way out (SIGTERM).
enum class node_mode { serving, draining, stopping };

// What decides one announcement, read afresh from the engines on every evaluation.
struct announcement_inputs {
    bool quorum_held = true;    // every virtual server behind the prefix holds its quorum
    bool drained = false;       // one of them is drained as a whole (`vigil drain VS`)
    unsigned servers_down = 0;  // real servers behind the prefix that are down or drained
};

struct announcement_decision {
    bool announce = false;
    std::optional<withdraw_reason> reason;  // when not announced
    std::uint32_t med = 0;
    // While held down: when the hold-down ends (evaluate again then).
    std::optional<time_point> hold_until;
};

// The rule for one announced prefix, a pure core with injected time:
// - withdrawn at once when the node stops or drains, the prefix's virtual servers are drained,
//   or their quorum is lost;
// - after a quorum loss, announced again only once the quorum has held for `hold_down`
//   without interruption (a flapping backend never makes the route flap faster than that);
// - a quorum that has never been lost since vigil started (or since this prefix was configured)
//   is announced at once: a director coming up healthy joins without waiting.
// The MED is the configured one plus `med_per_down_server` per real server down, saturating.
class announcement_policy {
  public:
    announcement_policy(std::chrono::milliseconds hold_down, std::uint32_t med,
                        std::uint32_t med_per_down_server)
        : hold_down_(hold_down), med_(med), med_per_down_server_(med_per_down_server) {}

    announcement_decision evaluate(const announcement_inputs& inputs, node_mode node,
                                   time_point now);
    // A reload keeps the quorum memory (a running hold-down goes on) but takes new numbers.
    void set(std::chrono::milliseconds hold_down, std::uint32_t med,
             std::uint32_t med_per_down_server) {
        hold_down_ = hold_down;
        med_ = med;
        med_per_down_server_ = med_per_down_server;
    }

  private:
    std::chrono::milliseconds hold_down_;
    std::uint32_t med_;
    std::uint32_t med_per_down_server_;
    bool quorum_was_held_ = true;
    // Since when the quorum holds again after a loss; empty while it never was lost, or the
    // hold-down has run out.
    std::optional<time_point> held_since_;
};

}  // namespace vigil::announce
