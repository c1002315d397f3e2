#include "vrrp/announcer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace vigil::vrrp {

namespace asio = boost::asio;

struct announcer::shared_state {
    shared_state(asio::any_io_executor executor, announce_spec s, std::function<void()> send)
        : timer(std::move(executor)), settings(s), send_round(std::move(send)) {}
    asio::steady_timer timer;
    announce_spec settings;
    std::function<void()> send_round;
    // Bumped by every start and stop; a schedule whose generation is stale ends at its next step.
    std::uint64_t generation = 0;
    bool running = false;
};

namespace {

// Sleeps on the shared timer; false when the schedule was stopped or restarted meanwhile.
asio::awaitable<bool> pause(std::shared_ptr<announcer::shared_state> state, duration d,
                            std::uint64_t generation) {
    if (d.count() > 0) {
        state->timer.expires_after(d);
        co_await state->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return state->generation == generation;
}

asio::awaitable<bool> burst(std::shared_ptr<announcer::shared_state> state, unsigned count,
                            std::uint64_t generation) {
    for (unsigned i = 0; i < count; ++i) {
        if (i > 0 && !co_await pause(state, state->settings.interval, generation)) {
            co_return false;
        }
        state->send_round();
    }
    co_return true;
}

asio::awaitable<void> run_schedule(std::shared_ptr<announcer::shared_state> state,
                                   std::uint64_t generation) {
    const auto& s = state->settings;
    bool alive = co_await burst(state, s.master_repeat, generation);
    if (alive && s.master_delay.count() > 0) {
        alive = co_await pause(state, s.master_delay, generation) &&
                co_await burst(state, s.master_repeat, generation);
    }
    while (alive && s.master_refresh.count() > 0) {
        alive = co_await pause(state, s.master_refresh, generation) &&
                co_await burst(state, s.master_refresh_repeat, generation);
    }
    if (state->generation == generation) {
        state->running = false;
    }
}

}  // namespace

announcer::announcer(asio::any_io_executor executor, announce_spec settings,
                     std::function<void()> send_round)
    : state_(std::make_shared<shared_state>(std::move(executor), settings, std::move(send_round))) {
}

announcer::~announcer() {
    stop();
}

void announcer::start() {
    stop();
    state_->running = true;
    asio::co_spawn(state_->timer.get_executor(), run_schedule(state_, state_->generation),
                   asio::detached);
}

void announcer::stop() {
    ++state_->generation;
    state_->running = false;
    state_->timer.cancel();
}

bool announcer::running() const {
    return state_->running;
}

}  // namespace vigil::vrrp
