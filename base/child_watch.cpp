#include "base/child_watch.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
// glibc 2.36 declares pidfd_open() without C linkage (fixed in 2.37); the headers it pulls in are
// already included above, so only its own declarations land in this block.
extern "C" {
#include <sys/pidfd.h>
}

#include <algorithm>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/post.hpp>
#pragma GCC diagnostic pop
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>

namespace vigil {

namespace {

using clock_type = std::chrono::steady_clock;

// Owns a descriptor until it is handed to Asio, so every early return closes what it opened.
class unique_fd {
  public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;

    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

  private:
    int fd_ = -1;
};

std::string errno_text(int error) {
    return std::strerror(error);
}

std::chrono::milliseconds since(clock_type::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
}

}  // namespace

void kill_and_reap(pid_t pid) noexcept {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) < 0 && errno == EINTR) {
    }
}

std::string child_process_runner::child_state::launch(const child_plan& plan) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) {
        return "cannot create the output pipe: " + errno_text(errno);
    }
    unique_fd output_read(ends[0]);
    unique_fd output_write(ends[1]);
    if (::pipe2(ends, O_CLOEXEC) != 0) {
        return "cannot create the report pipe: " + errno_text(errno);
    }
    unique_fd report_read(ends[0]);
    unique_fd report_write(ends[1]);
    // Only the read ends: the child's stdout must stay blocking, or a script's writes fail
    // with EAGAIN whenever vigil falls behind.
    for (int fd : {output_read.get(), report_read.get()}) {
        if (::fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
            return "cannot make a pipe non-blocking: " + errno_text(errno);
        }
    }
    boost::system::error_code ec;
    output.assign(output_read.get(), ec);
    if (ec) {
        return "cannot watch the output pipe: " + ec.message();
    }
    output_read.release();
    report.assign(report_read.get(), ec);
    if (ec) {
        return "cannot watch the report pipe: " + ec.message();
    }
    report_read.release();

    // Blocked across fork() so none of vigil's signal handlers can run in the child before it
    // resets them; the child unblocks just before exec.
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t child = ::fork();
    if (child == 0) {
        set_up_and_exec(plan, output_write.get(), report_write.get());
    }
    int fork_error = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (child < 0) {
        return "cannot fork: " + errno_text(fork_error);
    }
    output_write.reset();
    report_write.reset();
    // The child does the same; doing it here too means the group exists before start()
    // returns, whoever runs first, so a kill_all() or timeout can never miss it.
    ::setpgid(child, child);

    unique_fd pidfd(::pidfd_open(child, 0));
    if (pidfd.get() < 0) {
        int error = errno;
        kill_and_reap(child);
        return "cannot watch child: " + errno_text(error);
    }
    exit_watch.assign(pidfd.get(), ec);
    if (ec) {
        kill_and_reap(child);
        return "cannot watch child: " + ec.message();
    }
    pidfd.release();
    pid = child;
    try {
        watch();
    } catch (...) {
        kill_and_reap(child);
        pid = -1;
        close_all();
        throw;
    }
    return {};
}

void child_process_runner::child_state::watch() {
    watch_exit();
    watch_output();
    watch_report();
    if (spec.timeout.count() > 0) {
        timer.expires_after(spec.timeout);
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            self->guarded([&] { self->on_timeout(ec); });
        });
    }
}

void child_process_runner::child_state::watch_exit() {
    exit_watch.async_wait(stream_descriptor::wait_read,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                              self->guarded([&] { self->on_exit(ec); });
                          });
}

void child_process_runner::child_state::watch_output() {
    output.async_wait(stream_descriptor::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                          self->guarded([&] { self->on_output(ec); });
                      });
}

void child_process_runner::child_state::watch_report() {
    report.async_wait(stream_descriptor::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                          self->guarded([&] { self->on_report(ec); });
                      });
}

void child_process_runner::child_state::abandon(const char* why) noexcept {
    if (runner == nullptr) {
        return;
    }
    if (pid > 0 && !reaped) {
        kill_and_reap(pid);
        reaped = true;
        result.elapsed = since(started);
    }
    report_resolved = true;
    failure.reset();
    result.how = child_result::outcome::spawn_failed;
    try {
        result.error = std::string("cannot watch child: ") + why;
    } catch (...) {
        result.error.clear();
    }
    abandoned = true;
    runner->finish(shared_from_this());
}

void child_process_runner::child_state::on_exit(const boost::system::error_code& ec) {
    if (runner == nullptr || ec == boost::asio::error::operation_aborted) {
        return;
    }
    siginfo_t info{};
    int rc = 0;
    do {
        rc = ::waitid(P_PIDFD, static_cast<id_t>(exit_watch.native_handle()), &info,
                      WEXITED | WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == EAGAIN) {
        watch_exit();  // a non-blocking pidfd whose process has not exited yet
        return;
    }
    if (rc == 0 && info.si_pid == 0) {
        watch_exit();
        return;
    }
    reaped = true;
    result.elapsed = since(started);
    if (rc < 0) {
        // ECHILD: someone else reaped it (wait(-1) or SIGCHLD set to SIG_IGN elsewhere).
        result.how = child_result::outcome::exited;
        result.error = "exit status lost: " + errno_text(errno);
    } else if (info.si_code == CLD_EXITED) {
        result.how = child_result::outcome::exited;
        result.exit_code = info.si_status;
    } else {
        result.how = child_result::outcome::signaled;
        result.signal = info.si_status;
    }
    timer.cancel();
    boost::system::error_code ignored;
    exit_watch.close(ignored);
    finish_if_done();
}

void child_process_runner::child_state::on_output(const boost::system::error_code& ec) {
    if (runner == nullptr || ec == boost::asio::error::operation_aborted) {
        return;
    }
    if (ec) {
        close_output();
        return;
    }
    // Bounded per turn so a flood of output cannot starve the rest of the loop.
    switch (read_output(256 * 1024)) {
        case read_status::closed:
            close_output();
            return;
        case read_status::drained:
            watch_output();
            return;
        case read_status::more:
            // The pipe is edge-triggered: waiting now could wait forever for a writer that is
            // blocked on the full pipe. Come back on the next turn of the loop instead.
            boost::asio::post(output.get_executor(), [self = shared_from_this()] {
                self->guarded([&] { self->on_output({}); });
            });
            return;
    }
}

child_process_runner::child_state::read_status child_process_runner::child_state::read_output(
    std::size_t budget) {
    if (!output.is_open()) {
        return read_status::closed;
    }
    char buffer[16 * 1024];
    std::size_t total = 0;
    while (total < budget) {
        auto n = ::read(output.native_handle(), buffer, sizeof buffer);
        if (n > 0) {
            keep(buffer, static_cast<std::size_t>(n));
            total += static_cast<std::size_t>(n);
        } else if (n == 0) {
            return read_status::closed;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return read_status::drained;
        } else {
            return read_status::closed;
        }
    }
    return read_status::more;
}

void child_process_runner::child_state::close_output() {
    boost::system::error_code ignored;
    output.close(ignored);
}

void child_process_runner::child_state::keep(const char* data, std::size_t size) {
    auto limit = spec.output_limit;
    auto room = limit - std::min(limit, result.output.size());
    if (size > room) {
        result.output_truncated = true;
    }
    result.output.append(data, std::min(size, room));
}

void child_process_runner::child_state::on_report(const boost::system::error_code& ec) {
    if (runner == nullptr || ec == boost::asio::error::operation_aborted) {
        return;
    }
    failure_report received{};
    auto n = ::read(report.native_handle(), &received, sizeof received);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) && !ec) {
        watch_report();
        return;
    }
    if (n == static_cast<ssize_t>(sizeof received)) {
        failure = received;
    }
    // Anything else is EOF: exec succeeded and closed the pipe through O_CLOEXEC.
    report_resolved = true;
    boost::system::error_code ignored;
    report.close(ignored);
    finish_if_done();
}

void child_process_runner::child_state::on_timeout(const boost::system::error_code& ec) {
    if (runner == nullptr || ec || reaped) {
        return;
    }
    timed_out = true;
    // Not yet reaped, so the pid and therefore the process group id cannot have been reused.
    ::kill(-pid, SIGKILL);
}

void child_process_runner::child_state::finish_if_done() {
    // Output EOF is deliberately not awaited: a grandchild may hold the pipe open forever.
    if (reaped && report_resolved) {
        runner->finish(shared_from_this());
    }
}

void child_process_runner::child_state::close_all() noexcept {
    boost::system::error_code ignored;
    timer.cancel();
    exit_watch.close(ignored);
    output.close(ignored);
    report.close(ignored);
}

}  // namespace vigil
