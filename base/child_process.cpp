#include "base/child_process.hpp"

#include <sys/types.h>

#include <algorithm>
// g++ 12 reports -Wnull-dereference inside Asio's own code (Boost 1.81) once optimizing; the
// warning is about Asio's internals, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/post.hpp>
#pragma GCC diagnostic pop
#include <csignal>
#include <exception>

#include "base/child_plan.hpp"
#include "base/child_setup.hpp"
#include "base/child_watch.hpp"

namespace vigil {

std::string describe(const child_result& result) {
    switch (result.how) {
        case child_result::outcome::exited:
            return "exit " + std::to_string(result.exit_code);
        case child_result::outcome::signaled:
            return "killed by signal " + std::to_string(result.signal);
        case child_result::outcome::timed_out:
            return "timed out after " + format_duration(result.timeout);
        case child_result::outcome::spawn_failed:
            return "spawn failed: " + result.error;
    }
    return "unknown outcome";
}

child_process_runner::child_process_runner(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)) {}

child_process_runner::~child_process_runner() {
    // Kill all first, then reap, so the children die in parallel.
    for (auto& [id, state] : children_) {
        state->runner = nullptr;
        if (state->pid > 0 && !state->reaped) {
            ::kill(-state->pid, SIGKILL);
        }
    }
    for (auto& [id, state] : children_) {
        if (state->pid > 0 && !state->reaped) {
            kill_and_reap(state->pid);
            state->reaped = true;
        }
        state->close_all();
        state->done = nullptr;  // its captures may refer to the runner's owner
    }
}

std::size_t child_process_runner::running() const {
    return static_cast<std::size_t>(
        std::count_if(children_.begin(), children_.end(),
                      [](const auto& entry) { return entry.second->pid > 0; }));
}

void child_process_runner::kill_all() {
    for (auto& [id, state] : children_) {
        if (state->pid > 0 && !state->reaped) {
            ::kill(-state->pid, SIGKILL);
        }
    }
}

void child_process_runner::start(child_spec spec, completion done) {
    auto state = std::make_shared<child_state>(executor_);
    state->id = next_id_++;
    state->done = std::move(done);
    state->started = std::chrono::steady_clock::now();
    state->result.timeout = spec.timeout;
    state->spec = std::move(spec);
    children_.emplace(state->id, state);
    state->runner = this;

    std::string why;
    try {
        child_plan plan;
        why = make_child_plan(state->spec, plan);
        if (why.empty()) {
            why = state->launch(plan);
        }
    } catch (const std::exception& e) {
        why = std::string("cannot start child: ") + e.what();
    }
    if (why.empty()) {
        return;
    }
    state->result.how = child_result::outcome::spawn_failed;
    state->result.error = std::move(why);
    state->pid = -1;
    try {
        // Never call `done` from inside start(): the caller may not expect re-entry.
        boost::asio::post(executor_, [state] {
            if (state->runner != nullptr) {
                state->runner->finish(state);
            }
        });
    } catch (...) {
        state->runner = nullptr;
        children_.erase(state->id);
        throw;
    }
}

void child_process_runner::finish(std::shared_ptr<child_state> state) {
    // Leave the runner first: `done` may start children or destroy the runner.
    children_.erase(state->id);
    state->runner = nullptr;

    auto& result = state->result;
    if (!state->abandoned) {
        try {
            // The child is gone; take what it wrote, without waiting for writers it left behind.
            state->read_output(1024 * 1024);
            if (state->failure) {
                result.how = child_result::outcome::spawn_failed;
                result.exit_code = -1;
                auto user = requested_user(state->spec);
                result.error = describe_failure(*state->failure, state->spec.argv.front(),
                                                user.empty() ? "?" : user);
            } else if (state->timed_out) {
                result.how = child_result::outcome::timed_out;
                result.exit_code = -1;
                result.signal = SIGKILL;
            }
        } catch (...) {
            // Out of memory while composing a message: report what is known rather than nothing.
        }
    }
    state->close_all();

    auto done = std::move(state->done);
    state->done = nullptr;
    if (done) {
        try {
            done(std::move(result));
        } catch (...) {
            // A throwing callback must not take the event loop down with it.
        }
    }
}

}  // namespace vigil
