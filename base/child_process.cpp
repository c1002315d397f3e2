#include "base/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
// glibc 2.36 declares pidfd_open() without C linkage (fixed in 2.37); the headers it pulls in are
// already included above, so only its own declarations land in this block.
extern "C" {
#include <sys/pidfd.h>
}

#include <algorithm>
// g++ 12 reports -Wnull-dereference inside Asio's own code (Boost 1.81) once optimizing; the
// warning is about Asio's internals, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <string_view>

namespace vigil {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

// What the child was doing when its setup failed; sent to the parent with errno so the message can
// be composed there, where formatting is allowed.
enum class setup_step : std::int32_t {
    redirect_stdio,
    process_group,
    working_directory,
    supplementary_groups,
    group,
    user,
    exec,
};

struct failure_report {
    std::int32_t step;
    std::int32_t error;
};

// Everything the child needs, computed before fork(): between fork() and exec() only
// async-signal-safe calls are allowed, so no allocation, no NSS lookups, no locks.
struct child_plan {
    std::vector<std::string> argv_storage;
    std::vector<char*> argv;
    std::vector<std::string> environment_storage;
    std::vector<char*> environment;
    std::vector<std::string> candidate_storage;  // where execvp would look for argv[0], in order
    std::vector<const char*> candidates;
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    unsigned descriptor_limit = 1024;  // only for kernels without close_range()
};

// Returns an empty string on success, else why the user cannot be used.
std::string look_up_user(const std::string& name, child_plan& plan) {
    long size_hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 1024);
    passwd entry{};
    passwd* found = nullptr;
    int error = 0;
    while ((error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
               ERANGE &&
           buffer.size() < (1U << 20)) {
        buffer.resize(buffer.size() * 2);
    }
    if (error != 0) {
        return "cannot look up user \"" + name + "\": " + errno_text(error);
    }
    if (found == nullptr) {
        return "unknown user \"" + name + "\"";
    }
    plan.uid = entry.pw_uid;
    plan.gid = entry.pw_gid;
    if (::geteuid() != 0 && plan.uid == ::geteuid()) {
        // Already that user; setgroups() would fail without privileges for nothing.
        return {};
    }
    int count = 16;
    for (;;) {
        plan.groups.resize(static_cast<std::size_t>(count));
        int wanted = count;
        if (::getgrouplist(entry.pw_name, entry.pw_gid, plan.groups.data(), &wanted) >= 0) {
            plan.groups.resize(static_cast<std::size_t>(wanted));
            break;
        }
        if (wanted <= count) {
            return "cannot list the groups of user \"" + name + "\"";
        }
        count = wanted;
    }
    plan.switch_user = true;
    return {};
}

// Returns an empty string on success, else why the spec cannot be run.
std::string make_plan(const child_spec& spec, child_plan& plan) {
    if (spec.argv.empty() || spec.argv.front().empty()) {
        return "empty command";
    }
    plan.argv_storage = spec.argv;
    for (auto& arg : plan.argv_storage) {
        plan.argv.push_back(arg.data());
    }
    plan.argv.push_back(nullptr);

    std::vector<std::pair<std::string, std::string>> variables{{"PATH", default_path}};
    for (const auto& [name, value] : spec.environment) {
        if (name.empty() || name.find('=') != std::string::npos) {
            return "invalid environment variable name \"" + name + "\"";
        }
        auto same = std::find_if(variables.begin(), variables.end(),
                                 [&key = name](const auto& v) { return v.first == key; });
        if (same != variables.end()) {
            same->second = value;
        } else {
            variables.emplace_back(name, value);
        }
    }
    for (const auto& [name, value] : variables) {
        plan.environment_storage.push_back(name + "=" + value);
    }
    for (auto& entry : plan.environment_storage) {
        plan.environment.push_back(entry.data());
    }
    plan.environment.push_back(nullptr);

    long open_max = ::sysconf(_SC_OPEN_MAX);
    if (open_max > 0) {
        plan.descriptor_limit = static_cast<unsigned>(std::min(open_max, 1L << 20));
    }

    // execvp() would search the parent's PATH; the child's own PATH is the one that must apply.
    const std::string& program = spec.argv.front();
    if (program.find('/') != std::string::npos) {
        plan.candidate_storage.push_back(program);
    } else {
        std::string_view path = variables.front().second;
        for (;;) {
            auto colon = path.find(':');
            auto dir = path.substr(0, colon);
            // An empty PATH element means the working directory, as execvp() has it.
            plan.candidate_storage.push_back(dir.empty() ? program
                                                         : std::string(dir) + "/" + program);
            if (colon == std::string_view::npos) {
                break;
            }
            path.remove_prefix(colon + 1);
        }
    }
    for (const auto& candidate : plan.candidate_storage) {
        plan.candidates.push_back(candidate.c_str());
    }

    if (spec.user) {
        return look_up_user(*spec.user, plan);
    }
    return {};
}

std::string describe_failure(const failure_report& report, const child_spec& spec) {
    auto why = errno_text(report.error);
    switch (static_cast<setup_step>(report.step)) {
        case setup_step::redirect_stdio:
            return "cannot redirect the standard streams: " + why;
        case setup_step::process_group:
            return "cannot create a process group: " + why;
        case setup_step::working_directory:
            return "cannot change directory to /: " + why;
        case setup_step::supplementary_groups:
            return "cannot set the groups of user " + spec.user.value_or("?") + ": " + why;
        case setup_step::group:
            return "cannot set the group of user " + spec.user.value_or("?") + ": " + why;
        case setup_step::user:
            return "cannot switch to user " + spec.user.value_or("?") + ": " + why;
        case setup_step::exec:
            return "cannot execute " + spec.argv.front() + ": " + why;
    }
    return "child setup failed: " + why;
}

// --- child side: async-signal-safe calls only -----------------------------------------------

[[noreturn]] void report_and_exit(int fd, setup_step step, int error) noexcept {
    failure_report report{static_cast<std::int32_t>(step), error};
    // Smaller than PIPE_BUF, so the write is atomic: the parent reads all of it or nothing.
    while (::write(fd, &report, sizeof report) < 0 && errno == EINTR) {
    }
    ::_exit(127);
}

void close_from(unsigned first, unsigned last, unsigned descriptor_limit) noexcept {
    if (first > last) {
        return;
    }
    if (::close_range(first, last, 0) == 0) {
        return;
    }
    // Kernels before 5.9 lack close_range(); close whatever can be open.
    for (unsigned fd = first; fd <= last && fd < descriptor_limit; ++fd) {
        ::close(static_cast<int>(fd));
    }
}

[[noreturn]] void run_child(const child_plan& plan, int output_fd, int report_fd) noexcept {
    // A group of its own, so a timeout kills the grandchildren too.
    if (::setpgid(0, 0) != 0) {
        report_and_exit(report_fd, setup_step::process_group, errno);
    }

    // vigil's handlers and ignored signals (SIGPIPE) must not leak into scripts: exec keeps
    // SIG_IGN and the signal mask. The parent blocked everything around fork(), so no handler of
    // its can run here before this reset.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            ::sigaction(sig, &default_action, nullptr);  // glibc-reserved signals refuse; harmless
        }
    }

    // Move our two pipe ends above 2 before filling 0..2, whatever numbers they had.
    int report = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
    if (report < 0) {
        report_and_exit(report_fd, setup_step::redirect_stdio, errno);
    }
    int output = ::fcntl(output_fd, F_DUPFD, 3);
    if (output < 0) {
        report_and_exit(report, setup_step::redirect_stdio, errno);
    }
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) {
        report_and_exit(report, setup_step::redirect_stdio, errno);
    }
    if (::dup2(null, STDIN_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0 ||
        ::dup2(output, STDERR_FILENO) < 0) {
        report_and_exit(report, setup_step::redirect_stdio, errno);
    }
    // Everything but 0..2 and the report pipe, which exec closes itself (O_CLOEXEC) and whose EOF
    // tells the parent that exec succeeded.
    auto kept = static_cast<unsigned>(report);
    close_from(3, kept - 1, plan.descriptor_limit);
    close_from(kept + 1, ~0U, plan.descriptor_limit);

    if (::chdir("/") != 0) {
        report_and_exit(report, setup_step::working_directory, errno);
    }

    if (plan.switch_user) {
        // Groups first: after setuid() the privilege to change them is gone.
        if (::setgroups(plan.groups.size(), plan.groups.data()) != 0) {
            report_and_exit(report, setup_step::supplementary_groups, errno);
        }
        if (::setgid(plan.gid) != 0) {
            report_and_exit(report, setup_step::group, errno);
        }
        if (::setuid(plan.uid) != 0) {
            report_and_exit(report, setup_step::user, errno);
        }
    }

    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    // execvp()'s search rules: keep looking past missing files and unreadable directories, and
    // report EACCES if some candidate existed but could not be run.
    bool denied = false;
    int last_error = ENOENT;
    for (const char* candidate : plan.candidates) {
        ::execve(candidate, plan.argv.data(), plan.environment.data());
        int error = errno;
        switch (error) {
            case EACCES:
                denied = true;
                [[fallthrough]];
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT:
                last_error = error;
                continue;
            default:
                report_and_exit(report, setup_step::exec, error);
        }
    }
    report_and_exit(report, setup_step::exec, denied ? EACCES : last_error);
}

// Kills and reaps a child that can no longer be watched. SIGKILL makes the wait short.
void kill_and_reap(pid_t pid) noexcept {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED) < 0 && errno == EINTR) {
    }
}

std::chrono::milliseconds since(clock_type::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
}

}  // namespace

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
    clock_type::time_point started;
    bool reaped = false;
    bool report_resolved = false;  // the report pipe gave a failure or EOF
    bool timed_out = false;
    bool abandoned = false;  // could not be followed; `result` is final already
    std::optional<failure_report> failure;
    child_result result;

    // Creates the pipes, forks and arms the watchers. Returns an empty string on success, else why
    // nothing is running. May throw std::bad_alloc, and then nothing is running either.
    std::string launch(const child_plan& plan) {
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
            run_child(plan, output_write.get(), report_write.get());
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

    // Arms everything after a successful fork(); may throw std::bad_alloc.
    void watch() {
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

    void watch_exit() {
        exit_watch.async_wait(stream_descriptor::wait_read,
                              [self = shared_from_this()](const boost::system::error_code& ec) {
                                  self->guarded([&] { self->on_exit(ec); });
                              });
    }

    void watch_output() {
        output.async_wait(stream_descriptor::wait_read,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                              self->guarded([&] { self->on_output(ec); });
                          });
    }

    void watch_report() {
        report.async_wait(stream_descriptor::wait_read,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                              self->guarded([&] { self->on_report(ec); });
                          });
    }

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

    void abandon(const char* why) noexcept {
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

    void on_exit(const boost::system::error_code& ec) {
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

    void on_output(const boost::system::error_code& ec) {
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

    enum class read_status { closed, drained, more };

    // Reads what is available now, up to `budget` bytes: `closed` at EOF or on error, `drained`
    // when the pipe is empty, `more` when the budget ran out first.
    read_status read_output(std::size_t budget) {
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

    void close_output() {
        boost::system::error_code ignored;
        output.close(ignored);
    }

    void keep(const char* data, std::size_t size) {
        auto limit = spec.output_limit;
        auto room = limit - std::min(limit, result.output.size());
        if (size > room) {
            result.output_truncated = true;
        }
        result.output.append(data, std::min(size, room));
    }

    void on_report(const boost::system::error_code& ec) {
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

    void on_timeout(const boost::system::error_code& ec) {
        if (runner == nullptr || ec || reaped) {
            return;
        }
        timed_out = true;
        // Not yet reaped, so the pid and therefore the process group id cannot have been reused.
        ::kill(-pid, SIGKILL);
    }

    void finish_if_done() {
        // Output EOF is deliberately not awaited: a grandchild may hold the pipe open forever.
        if (reaped && report_resolved) {
            runner->finish(shared_from_this());
        }
    }

    void close_all() noexcept {
        boost::system::error_code ignored;
        timer.cancel();
        exit_watch.close(ignored);
        output.close(ignored);
        report.close(ignored);
    }
};

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
    state->started = clock_type::now();
    state->result.timeout = spec.timeout;
    state->spec = std::move(spec);
    children_.emplace(state->id, state);
    state->runner = this;

    std::string why;
    try {
        child_plan plan;
        why = make_plan(state->spec, plan);
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
                result.error = describe_failure(*state->failure, state->spec);
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
