#include "base/child_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace vigil {

namespace {

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

void reset_signal_dispositions() noexcept {
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
}

// Returns the report descriptor's new number: 0..2 are taken by the standard streams now.
int redirect_standard_streams(const child_plan& plan, int output_fd, int report_fd) noexcept {
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
    return report;
}

void switch_user(const child_plan& plan, int report) noexcept {
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

}  // namespace

[[noreturn]] void set_up_and_exec(const child_plan& plan, int output_fd, int report_fd) noexcept {
    // A group of its own, so a timeout kills the grandchildren too.
    if (::setpgid(0, 0) != 0) {
        report_and_exit(report_fd, setup_step::process_group, errno);
    }
    reset_signal_dispositions();
    // Forked from VRRP's real-time thread, a script would run real-time too: one that spins would
    // hold a CPU ahead of everything else. Lowering a priority needs no privilege.
    sched_param normal{};
    ::sched_setscheduler(0, SCHED_OTHER, &normal);
    int report = redirect_standard_streams(plan, output_fd, report_fd);
    if (::chdir("/") != 0) {
        report_and_exit(report, setup_step::working_directory, errno);
    }
    if (plan.switch_user) {
        switch_user(plan, report);
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

std::string describe_failure(const failure_report& report, const std::string& program,
                             const std::string& user) {
    std::string why = std::strerror(report.error);
    switch (static_cast<setup_step>(report.step)) {
        case setup_step::redirect_stdio:
            return "cannot redirect the standard streams: " + why;
        case setup_step::process_group:
            return "cannot create a process group: " + why;
        case setup_step::working_directory:
            return "cannot change directory to /: " + why;
        case setup_step::supplementary_groups:
            return "cannot set the groups of user " + user + ": " + why;
        case setup_step::group:
            return "cannot set the group of user " + user + ": " + why;
        case setup_step::user:
            return "cannot switch to user " + user + ": " + why;
        case setup_step::exec:
            return "cannot execute " + program + ": " + why;
    }
    return "child setup failed: " + why;
}

}  // namespace vigil
