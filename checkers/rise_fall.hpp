#pragma once

#include <optional>

namespace vigil::checkers {

enum class health { up, down };

// One counter per (real server, check), shared by every check type: a server goes down after
// `fall` consecutive failures and up after `rise` consecutive successes. A result that agrees with
// the current state resets any transition in progress.
class rise_fall {
  public:
    rise_fall(unsigned rise, unsigned fall, health initial);

    // Returns the new state when this result completes a transition.
    std::optional<health> record(bool success);

    health state() const { return state_; }
    // Some results disagree with the state but not yet enough to change it; the scheduler probes
    // sooner while this holds.
    bool transition_pending() const { return streak_ > 0; }
    unsigned streak() const { return streak_; }

  private:
    unsigned rise_;
    unsigned fall_;
    health state_;
    unsigned streak_ = 0;  // consecutive results that disagree with state_
};

}  // namespace vigil::checkers
