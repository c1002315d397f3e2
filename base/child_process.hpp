#pragma once

// g++ 12 reports -Wnull-dereference inside Asio's own code (Boost 1.81) once optimizing; the
// warning is about Asio's internals, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#pragma GCC diagnostic pop
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/duration.hpp"
#include "base/user_credentials.hpp"

namespace vigil {

// One program to run: a health-check script, a VRRP track script or a notify program.
struct child_spec {
    // argv[0] is the program. No shell is involved: a name without '/' is looked up in the
    // child's PATH (execvp rules), and a relative path resolves against "/", the child's working
    // directory. A script needs a "#!" line; there is no fallback to /bin/sh.
    std::vector<std::string> argv;
    // Added on top of a minimal environment that holds only
    // PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, so a script behaves the
    // same whatever environment vigil was started with. A later entry replaces an earlier one and
    // may replace PATH.
    std::vector<std::pair<std::string, std::string>> environment;
    // Run as this user (its primary and supplementary groups too), looked up beforehand with
    // look_up_user() so that no start waits on NSS. A failed lookup makes every start report
    // spawn_failed with its error. Needs root unless it names the user vigil already runs as.
    std::optional<user_lookup> run_as;
    // When it expires the child's whole process group is killed with SIGKILL. Zero means no limit.
    duration timeout{0};
    // Bytes of combined stdout and stderr kept for the logs. The rest is read and thrown away, so
    // a chatty child never blocks on a full pipe.
    std::size_t output_limit = 4096;
};

struct child_result {
    enum class outcome { exited, signaled, timed_out, spawn_failed };

    outcome how = outcome::spawn_failed;
    int exit_code = -1;  // when exited
    int signal = 0;      // when signaled, or the signal that was sent when timed_out
    // The first output_limit bytes of stdout and stderr, interleaved as written.
    std::string output;
    bool output_truncated = false;
    // When spawn_failed, why: "cannot execute /x: No such file or directory", "unknown user ...".
    std::string error;
    duration timeout{0};  // the limit that applied, so a timed_out result can name it
    std::chrono::milliseconds elapsed{0};  // from start() until the child was reaped

    bool succeeded() const { return how == outcome::exited && exit_code == 0; }
};

// For logs: "exit 3", "killed by signal 9", "timed out after 200ms", "spawn failed: ...".
std::string describe(const child_result& result);

// Runs children without ever blocking the event loop beyond fork() itself: exit is noticed through
// a pidfd, output and exec failures through pipes, all watched by Asio. No SIGCHLD handler is
// installed, so nothing else in the process may reap with wait(-1) or set SIGCHLD to SIG_IGN.
//
// Like every Asio I/O object, a runner must be destroyed before its io_context.
class child_process_runner {
  public:
    using completion = std::function<void(child_result)>;

    explicit child_process_runner(boost::asio::any_io_executor executor);
    // Kills the process group of every child still running and reaps it (SIGKILL makes that
    // prompt). Their `done` callbacks are never called.
    ~child_process_runner();
    child_process_runner(const child_process_runner&) = delete;
    child_process_runner& operator=(const child_process_runner&) = delete;

    // Starts the child and returns at once. `done` is called later on the executor, exactly once
    // (never from inside start(), and never after the runner is destroyed), and every failure is
    // reported through it. Only std::bad_alloc can escape start(), and then nothing was started.
    // `done` may start more children or destroy the runner. It must not throw; an exception from
    // it is dropped so it cannot tear down the event loop.
    //
    // A child counts as finished once it is reaped; output still held open by a grandchild that
    // outlived it is not waited for.
    void start(child_spec spec, completion done);

    // Children forked and not yet finished.
    std::size_t running() const;

    // SIGKILLs every running child's process group. Their `done` callbacks still fire, with
    // outcome signaled.
    void kill_all();

  private:
    struct child_state;
    friend struct child_state;

    void finish(std::shared_ptr<child_state> state);

    boost::asio::any_io_executor executor_;
    std::uint64_t next_id_ = 1;
    // Keyed by a serial number, not the pid: a reaped child's pid may be reused before its entry
    // is gone.
    std::unordered_map<std::uint64_t, std::shared_ptr<child_state>> children_;
};

}  // namespace vigil
