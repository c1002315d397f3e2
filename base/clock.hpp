#pragma once

#include <chrono>

namespace vigil {

// All protocol timing runs on the monotonic clock: wall-clock steps must never fire or delay a
// VRRP or health-check timer.
using mono_clock = std::chrono::steady_clock;
using time_point = mono_clock::time_point;

// The clock seam. Pure cores never read a clock: they receive `now`. Shells read it through this
// interface so tests can drive them on simulated time.
class clock_source {
  public:
    virtual ~clock_source() = default;
    virtual time_point now() const = 0;
};

class steady_clock_source final : public clock_source {
  public:
    time_point now() const override { return mono_clock::now(); }
};

// Simulated time for tests: it moves only when told to.
class manual_clock final : public clock_source {
  public:
    explicit manual_clock(time_point start = time_point{}) : now_(start) {}
    time_point now() const override { return now_; }
    void advance(mono_clock::duration by) { now_ += by; }
    void set(time_point to) { now_ = to; }

  private:
    time_point now_;
};

}  // namespace vigil
