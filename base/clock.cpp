#include "base/clock.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>

namespace vigil {

namespace {

class steady_timer_adapter final : public clock_timer {
  public:
    explicit steady_timer_adapter(boost::asio::any_io_executor executor) : timer_(executor) {}
    ~steady_timer_adapter() override { timer_.cancel(); }

    void arm(time_point at, std::function<void()> on_expiry) override {
        // A completion already queued when the timer is re-armed or cancelled still runs with
        // success in Asio; the generation tells a stale one from the current one.
        auto generation = ++*generation_;
        armed_for_ = at;
        timer_.expires_at(at);
        std::weak_ptr<std::uint64_t> current = generation_;
        timer_.async_wait([this, current, generation,
                           handler = std::move(on_expiry)](const boost::system::error_code& ec) {
            auto live = current.lock();
            if (ec || !live || *live != generation) {
                return;
            }
            armed_for_.reset();
            handler();
        });
    }

    void cancel() override {
        ++*generation_;
        armed_for_.reset();
        timer_.cancel();
    }

    std::optional<time_point> armed_for() const override { return armed_for_; }

  private:
    boost::asio::steady_timer timer_;
    std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
    std::optional<time_point> armed_for_;
};

}  // namespace

std::unique_ptr<clock_timer> steady_clock_source::make_timer() {
    return std::make_unique<steady_timer_adapter>(executor_);
}

class manual_clock::timer final : public clock_timer {
  public:
    explicit timer(manual_clock& clock) : clock_(&clock) { clock_->timers_.push_back(this); }
    ~timer() override {
        if (clock_) {
            std::erase(clock_->timers_, this);
        }
    }
    void arm(time_point at, std::function<void()> on_expiry) override {
        at_ = at;
        handler_ = std::move(on_expiry);
    }
    void cancel() override {
        at_.reset();
        handler_ = nullptr;
    }
    std::optional<time_point> armed_for() const override { return at_; }

    // Disarms first: the handler may arm again.
    void fire() {
        auto handler = std::move(handler_);
        at_.reset();
        handler_ = nullptr;
        handler();
    }
    void forget_clock() { clock_ = nullptr; }

  private:
    manual_clock* clock_;
    std::optional<time_point> at_;
    std::function<void()> handler_;
};

manual_clock::~manual_clock() {
    for (auto* t : timers_) {
        t->forget_clock();
    }
}

std::unique_ptr<clock_timer> manual_clock::make_timer() {
    return std::make_unique<timer>(*this);
}

manual_clock::timer* manual_clock::earliest_due(time_point limit) const {
    timer* earliest = nullptr;
    for (auto* t : timers_) {
        auto at = t->armed_for();
        if (at && *at <= limit && (!earliest || *at < *earliest->armed_for())) {
            earliest = t;
        }
    }
    return earliest;
}

void manual_clock::advance(mono_clock::duration by) {
    advance_to(now_ + by);
}

void manual_clock::advance_to(time_point to) {
    while (auto* due = earliest_due(to)) {
        now_ = std::max(now_, *due->armed_for());
        due->fire();
    }
    now_ = std::max(now_, to);
}

std::optional<time_point> manual_clock::next_expiry() const {
    auto* t = earliest_due(time_point::max());
    return t ? t->armed_for() : std::nullopt;
}

std::size_t manual_clock::armed_timers() const {
    return static_cast<std::size_t>(
        std::count_if(timers_.begin(), timers_.end(), [](auto* t) { return t->armed_for(); }));
}

}  // namespace vigil
