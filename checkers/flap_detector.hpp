#pragma once

#include <deque>

#include "base/clock.hpp"
#include "base/duration.hpp"

namespace vigil::checkers {

// More than `threshold` transitions within `window` make a real server "flapping": one
// real_server.flapping record then stands for the transitions that follow, instead of a line per
// flap that would page an operator every few seconds. It ends once the server has held its state
// for a whole window. Only the log is damped: IPVS still follows every transition.
struct flap_spec {
    unsigned threshold = 5;  // 0: never damp
    duration window = std::chrono::minutes(1);
    friend bool operator==(const flap_spec&, const flap_spec&) = default;
};

class flap_detector {
  public:
    enum class verdict { log, start_flapping, suppress };

    explicit flap_detector(flap_spec spec = {}) : spec_(spec) {}
    void set_spec(flap_spec spec) { spec_ = spec; }

    // A transition happened: log it, announce flapping, or keep quiet.
    verdict on_transition(time_point now);
    // Called with every result: true once, when a flapping server has been stable for a window.
    bool settled(time_point now);

    bool flapping() const { return flapping_; }
    unsigned recent_transitions() const { return static_cast<unsigned>(recent_.size()); }

  private:
    void forget_before(time_point cutoff);

    flap_spec spec_;
    std::deque<time_point> recent_;
    bool flapping_ = false;
};

}  // namespace vigil::checkers
