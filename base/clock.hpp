#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace vigil {

// All protocol timing runs on the monotonic clock: wall-clock steps must never fire or delay a
// VRRP or health-check timer.
using mono_clock = std::chrono::steady_clock;
using time_point = mono_clock::time_point;

// A one-shot timer on a clock_source's time. arm() replaces any pending expiry. The handler runs
// later, never from inside arm() or cancel(), and never after cancel(), a re-arm or the timer's
// destruction (an expiry already queued on the loop is dropped, unlike a bare asio timer's).
class clock_timer {
  public:
    virtual ~clock_timer() = default;
    virtual void arm(time_point at, std::function<void()> on_expiry) = 0;
    virtual void cancel() = 0;
    // When it fires next; nothing while disarmed.
    virtual std::optional<time_point> armed_for() const = 0;
};

// The clock seam. Pure cores never read a clock: they receive `now`. Shells read it and make
// their timers through this interface, so tests can drive them on simulated time.
class clock_source {
  public:
    virtual ~clock_source() = default;
    virtual time_point now() const = 0;
    virtual std::unique_ptr<clock_timer> make_timer() = 0;
};

// The real clock; its timers run on `executor`.
class steady_clock_source final : public clock_source {
  public:
    explicit steady_clock_source(boost::asio::any_io_executor executor)
        : executor_(std::move(executor)) {}
    time_point now() const override { return mono_clock::now(); }
    std::unique_ptr<clock_timer> make_timer() override;

  private:
    boost::asio::any_io_executor executor_;
};

// Simulated time for tests: it moves only when told to, and advancing it runs the timers that
// fall due on the way, in time order, each seeing now() at its own expiry.
class manual_clock final : public clock_source {
  public:
    explicit manual_clock(time_point start = time_point{}) : now_(start) {}
    ~manual_clock() override;
    manual_clock(const manual_clock&) = delete;
    manual_clock& operator=(const manual_clock&) = delete;

    time_point now() const override { return now_; }
    std::unique_ptr<clock_timer> make_timer() override;

    void advance(mono_clock::duration by);
    // Moves to `to` (never backwards) running the timers due up to it.
    void advance_to(time_point to);
    // The earliest armed timer, if any.
    std::optional<time_point> next_expiry() const;
    std::size_t armed_timers() const;

    class timer;

  private:
    timer* earliest_due(time_point limit) const;

    time_point now_;
    std::vector<timer*> timers_;
};

}  // namespace vigil
