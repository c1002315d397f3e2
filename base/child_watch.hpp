#pragma once

// Internal to child_process_runner: how one forked child is followed on the event loop.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
// g++ 12 reports -Wnull-dereference inside Asio's own code (Boost 1.81) once optimizing; the
// warning is about Asio's internals, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop

#include "base/child_plan.hpp"
#include "base/child_process.hpp"
#include "base/child_setup.hpp"

namespace vigil {

// Kills the process group and the process, then reaps it on the spot: for a child that can no
// longer be watched. SIGKILL makes the wait short.
void kill_and_reap(pid_t pid) noexcept;

// One child from start() to `done`. Handlers hold it by shared_ptr, so it outlives the runner if
// they are still queued; `runner` is null once the child is finished or the runner is gone, and
// every handler checks it before doing anything.
struct child_process_runner::child_state : std::enable_shared_from_this<child_state> {
    using stream_descriptor = boost::asio::posix::stream_descriptor;

    explicit child_state(const boost::asio::any_io_executor& executor)
        : exit_watch(executor), output(executor), report(executor), timer(executor) {}

    child_process_runner* runner = nullptr;
    std::uint64_t id = 0;
    pid_t pid = -1;
    stream_descriptor exit_watch;  // the pidfd
    stream_descriptor output;      // read end of the stdout+stderr pipe
    stream_descriptor report;      // read end of the setup-failure pipe
    boost::asio::steady_timer timer;
    completion done;
    child_spec spec;  // kept for the limits and for composing messages
    std::chrono::steady_clock::time_point started;
    bool reaped = false;
    bool report_resolved = false;  // the report pipe gave a failure or EOF
    bool timed_out = false;
    bool abandoned = false;  // could not be followed; `result` is final already
    std::optional<failure_report> failure;
    child_result result;

    // Creates the pipes, forks and arms the watchers. Returns an empty string on success, else why
    // nothing is running. May throw std::bad_alloc, and then nothing is running either.
    std::string launch(const child_plan& plan);

    // Arms everything after a successful fork(); may throw std::bad_alloc.
    void watch();

    void watch_exit();
    void watch_output();
    void watch_report();

    // No exception may cross the event loop. If a watcher cannot be re-armed the child can no
    // longer be followed asynchronously, so it is killed, reaped on the spot and reported.
    template <class Body>
    void guarded(Body&& body) noexcept {
        try {
            body();
        } catch (const std::exception& e) {
            abandon(e.what());
        } catch (...) {
            abandon("unknown exception");
        }
    }

    void abandon(const char* why) noexcept;

    void on_exit(const boost::system::error_code& ec);

    void on_output(const boost::system::error_code& ec);

    enum class read_status { closed, drained, more };

    // Reads what is available now, up to `budget` bytes: `closed` at EOF or on error, `drained`
    // when the pipe is empty, `more` when the budget ran out first.
    read_status read_output(std::size_t budget);

    void close_output();

    void keep(const char* data, std::size_t size);

    void on_report(const boost::system::error_code& ec);

    void on_timeout(const boost::system::error_code& ec);

    void finish_if_done();

    void close_all() noexcept;
};

}  // namespace vigil
