#include "base/child_process.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

// g++ 12 reports -Wnull-dereference inside Asio's own code (Boost 1.81) once optimizing; the
// warning is about Asio's internals, not about this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using vigil::child_process_runner;
using vigil::child_result;
using vigil::child_spec;
using outcome = child_result::outcome;
using steady = std::chrono::steady_clock;

child_spec command(std::vector<std::string> argv, vigil::duration timeout = 10s) {
    child_spec spec;
    spec.argv = std::move(argv);
    spec.timeout = timeout;
    return spec;
}

// Runs the loop until `ready()` holds or `limit` has passed; says whether it holds.
template <class Ready>
bool run_until(boost::asio::io_context& io, std::chrono::milliseconds limit, Ready ready) {
    auto deadline = steady::now() + limit;
    while (!ready()) {
        auto now = steady::now();
        if (now >= deadline) {
            return false;
        }
        io.restart();
        if (io.run_one_for(deadline - now) == 0) {
            std::this_thread::sleep_for(1ms);  // nothing queued: do not spin
        }
    }
    return true;
}

// Lets queued handlers run for a while, e.g. to show that a second callback never comes.
void run_for(boost::asio::io_context& io, std::chrono::milliseconds limit) {
    run_until(io, limit, [] { return false; });
}

// Runs one child on a fresh loop and runner, and waits (bounded) for its result.
child_result run(child_spec spec, std::chrono::milliseconds limit = 10s) {
    boost::asio::io_context io;
    child_process_runner runner{io.get_executor()};
    std::optional<child_result> result;
    runner.start(std::move(spec), [&](child_result r) { result = std::move(r); });
    REQUIRE(run_until(io, limit, [&] { return result.has_value(); }));
    return std::move(*result);
}

std::size_t open_descriptors() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
        ++count;
    }
    return count;
}

// True if this process has any child, running or zombie.
bool has_children() {
    siginfo_t info{};
    return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// PID 1 in a container may reap orphans late, so a zombie counts as dead.
bool is_dead(pid_t pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    if (!file) {
        return true;
    }
    std::string stat;
    std::getline(file, stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) {
        return true;
    }
    char state = stat[close + 2];
    return state == 'Z' || state == 'X';
}

bool dies_within(pid_t pid, std::chrono::milliseconds limit) {
    auto deadline = steady::now() + limit;
    while (!is_dead(pid)) {
        if (steady::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

pid_t first_line_as_pid(const std::string& output) {
    return static_cast<pid_t>(std::stol(output.substr(0, output.find('\n'))));
}

}  // namespace

TEST_SUITE("child_process") {
    TEST_CASE("a program that exits 0 is reported as exit 0") {
        auto result = run(command({"/bin/true"}));
        CHECK(result.how == outcome::exited);
        CHECK(result.exit_code == 0);
        CHECK(result.succeeded());
        CHECK(result.output.empty());
        CHECK(vigil::describe(result) == "exit 0");
    }

    TEST_CASE("a program's exit code is reported as it was given") {
        auto result = run(command({"sh", "-c", "exit 7"}));
        CHECK(result.how == outcome::exited);
        CHECK(result.exit_code == 7);
        CHECK_FALSE(result.succeeded());
        CHECK(vigil::describe(result) == "exit 7");
    }

    TEST_CASE("a zero timeout means no time limit") {
        auto result = run(command({"sleep", "0.2"}, 0ms));
        CHECK(result.how == outcome::exited);
        CHECK(result.elapsed >= 200ms);
    }

    TEST_CASE("a program killed by a signal is reported with that signal") {
        auto result = run(command({"sh", "-c", "kill -TERM $$"}));
        CHECK(result.how == outcome::signaled);
        CHECK(result.signal == SIGTERM);
        CHECK(vigil::describe(result) == "killed by signal 15");
    }

    TEST_CASE("stdout and stderr are captured together in the order written") {
        auto result = run(command({"sh", "-c", "echo out; echo err >&2; echo out2"}));
        CHECK(result.output == "out\nerr\nout2\n");
        CHECK_FALSE(result.output_truncated);
    }

    TEST_CASE("output beyond output_limit is dropped and flagged") {
        auto spec = command({"printf", "abcdefghijklmnop"});
        spec.output_limit = 10;
        auto result = run(std::move(spec));
        CHECK(result.how == outcome::exited);
        CHECK(result.output == "abcdefghij");
        CHECK(result.output_truncated);
    }

    TEST_CASE("a child writing 1 MB never blocks on the pipe and completes") {
        auto spec = command({"head", "-c", "1048576", "/dev/zero"}, 10s);
        auto result = run(std::move(spec));
        CHECK(result.how == outcome::exited);
        CHECK(result.exit_code == 0);
        CHECK(result.output.size() == 4096);
        CHECK(result.output_truncated);
        CHECK(result.elapsed < 5s);
    }

    TEST_CASE("the child sees a minimal PATH plus the configured variables and nothing else") {
        auto spec = command({"env"});
        spec.environment = {{"VIGIL_GREETING", "hello world"}, {"VIGIL_EMPTY", ""}};
        auto result = run(std::move(spec));
        CHECK(result.exit_code == 0);
        CHECK(result.output ==
              "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
              "VIGIL_GREETING=hello world\n"
              "VIGIL_EMPTY=\n");
    }

    TEST_CASE("a program name without a slash is looked up in the child's PATH") {
        CHECK(run(command({"true"})).succeeded());

        auto spec = command({"true"});
        spec.environment = {{"PATH", "/nonexistent"}};
        auto result = run(std::move(spec));
        CHECK(result.how == outcome::spawn_failed);
        CHECK(result.error == "cannot execute true: No such file or directory");
    }

    TEST_CASE("a program that does not exist is a spawn failure with the errno text") {
        auto result = run(command({"/nonexistent"}));
        CHECK(result.how == outcome::spawn_failed);
        CHECK(result.error == "cannot execute /nonexistent: No such file or directory");
        CHECK(vigil::describe(result) ==
              "spawn failed: cannot execute /nonexistent: No such file or directory");
    }

    TEST_CASE("a file without execute permission is a spawn failure") {
        auto result = run(command({"/etc/passwd"}));
        CHECK(result.how == outcome::spawn_failed);
        CHECK(result.error == "cannot execute /etc/passwd: Permission denied");
    }

    TEST_CASE("an empty command or a bad variable name is a spawn failure") {
        auto empty = run(command({}));
        CHECK(empty.how == outcome::spawn_failed);
        CHECK(empty.error == "empty command");

        auto spec = command({"true"});
        spec.environment = {{"A=B", "x"}};
        auto bad = run(std::move(spec));
        CHECK(bad.how == outcome::spawn_failed);
        CHECK(bad.error == "invalid environment variable name \"A=B\"");
    }

    TEST_CASE("a user whose lookup failed is a spawn failure with the lookup's message") {
        boost::asio::io_context io;
        child_process_runner runner{io.get_executor()};
        auto spec = command({"true"});
        spec.run_as = vigil::look_up_user("vigil-no-such-user");
        CHECK_FALSE(spec.run_as->found());
        CHECK(spec.run_as->error == "unknown user \"vigil-no-such-user\"");
        std::optional<child_result> result;
        runner.start(std::move(spec), [&](child_result r) { result = std::move(r); });
        CHECK_FALSE(result.has_value());  // never from inside start()
        REQUIRE(run_until(io, 5s, [&] { return result.has_value(); }));
        CHECK(result->how == outcome::spawn_failed);
        CHECK(result->error == "unknown user \"vigil-no-such-user\"");
    }

    TEST_CASE("a user looked up with a group takes that group's id and its group list") {
        const char* self = ::getpwuid(::geteuid())->pw_name;
        auto with_group = vigil::look_up_user(self, "daemon");
        REQUIRE(with_group.found());
        CHECK(with_group.credentials->uid == ::geteuid());
        CHECK(with_group.credentials->gid == 1);
        const auto& groups = with_group.credentials->groups;
        CHECK(std::find(groups.begin(), groups.end(), gid_t{1}) != groups.end());

        auto unknown = vigil::look_up_user(self, "vigil-no-such-group");
        CHECK_FALSE(unknown.found());
        CHECK(unknown.error == "unknown group \"vigil-no-such-group\"");
    }

    TEST_CASE("a looked-up user is used as found: starting a child does not look it up again") {
        // A name the user database does not know, with the credentials vigil runs as: if start()
        // asked NSS again it would fail with "unknown user".
        auto self = vigil::look_up_user(::getpwuid(::geteuid())->pw_name);
        REQUIRE(self.found());
        CHECK(self.credentials->uid == ::geteuid());
        CHECK(self.credentials->gid == ::getpwuid(::geteuid())->pw_gid);
        CHECK_FALSE(self.credentials->groups.empty());
        vigil::user_lookup renamed = self;
        renamed.name = "vigil-no-such-user";
        renamed.credentials->name = "vigil-no-such-user";
        auto spec = command({"sh", "-c", "id -u"});
        spec.run_as = renamed;
        if (::geteuid() != 0) {
            // Unprivileged and already that user: nothing to switch.
            auto result = run(std::move(spec));
            CHECK(result.how == outcome::exited);
            CHECK(result.output == std::to_string(::geteuid()) + "\n");
            return;
        }
        auto result = run(std::move(spec));
        CHECK(result.how == outcome::exited);
        CHECK(result.output == "0\n");
    }

    TEST_CASE("stdin is /dev/null, so a program reading it sees end of file at once") {
        auto result = run(command({"cat"}, 5s));
        CHECK(result.how == outcome::exited);
        CHECK(result.exit_code == 0);
        CHECK(result.output.empty());
    }

    TEST_CASE("the child runs in / with no descriptor of the parent beyond 0, 1 and 2") {
        // Not close-on-exec: only the child's own cleanup keeps it from being inherited.
        int leaky = ::open("/dev/null", O_RDONLY);
        REQUIRE(leaky >= 0);
        auto result = run(command({"sh", "-c", "pwd; ls /proc/$$/fd"}));
        ::close(leaky);
        CHECK(result.exit_code == 0);
        CHECK(result.output == "/\n0\n1\n2\n");
    }

    TEST_CASE("signal dispositions and the signal mask are reset in the child") {
        auto previous_pipe = std::signal(SIGPIPE, SIG_IGN);
        sigset_t usr1;
        sigset_t previous_mask;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        ::pthread_sigmask(SIG_BLOCK, &usr1, &previous_mask);

        auto result = run(command({"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}));

        ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
        std::signal(SIGPIPE, previous_pipe);
        CHECK(result.output == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    }

    TEST_CASE("the child leads a process group of its own") {
        // Field 5 of /proc/PID/stat is the process group; "sh" has no space in its name.
        auto result = run(command({"sh", "-c", "echo $$; cut -d' ' -f5 /proc/$$/stat"}));
        auto newline = result.output.find('\n');
        REQUIRE(newline != std::string::npos);
        CHECK(result.output.substr(0, newline + 1) == result.output.substr(newline + 1));
    }

    TEST_CASE("a child past its timeout is killed and reported as timed out") {
        auto begin = steady::now();
        auto result = run(command({"sleep", "30"}, 200ms), 5s);
        CHECK(result.how == outcome::timed_out);
        CHECK(result.signal == SIGKILL);
        CHECK(result.elapsed >= 200ms);
        CHECK(steady::now() - begin < 1s);
        CHECK(vigil::describe(result) == "timed out after 200ms");
    }

    TEST_CASE("a timeout kills the grandchildren in the child's process group too") {
        auto result = run(command({"sh", "-c", "sleep 30 & echo $!; wait"}, 200ms), 5s);
        REQUIRE(result.how == outcome::timed_out);
        auto grandchild = first_line_as_pid(result.output);
        bool dead = dies_within(grandchild, 3s);
        if (!dead) {
            ::kill(grandchild, SIGKILL);
        }
        CHECK(dead);
    }

    TEST_CASE("a child is finished when reaped, even if a grandchild keeps its output open") {
        auto begin = steady::now();
        auto result = run(command({"sh", "-c", "sleep 30 & echo $!"}, 10s), 5s);
        CHECK(steady::now() - begin < 2s);
        CHECK(result.how == outcome::exited);
        CHECK(result.exit_code == 0);
        auto grandchild = first_line_as_pid(result.output);
        CHECK_FALSE(is_dead(grandchild));  // a child that exits on its own leaves them be
        ::kill(grandchild, SIGKILL);
    }

    TEST_CASE("start returns at once and the loop keeps running while a child runs") {
        boost::asio::io_context io;
        child_process_runner runner{io.get_executor()};
        std::optional<child_result> result;
        auto begin = steady::now();
        runner.start(command({"sleep", "0.3"}), [&](child_result r) { result = std::move(r); });
        CHECK(steady::now() - begin < 100ms);
        CHECK(runner.running() == 1);

        boost::asio::steady_timer timer{io, 20ms};
        bool timer_fired = false;
        std::size_t running_at_timer = 0;
        timer.async_wait([&](const boost::system::error_code&) {
            timer_fired = true;
            running_at_timer = runner.running();
        });
        REQUIRE(run_until(io, 5s, [&] { return result.has_value(); }));
        CHECK(timer_fired);
        CHECK(running_at_timer == 1);
        CHECK(result->succeeded());
    }

    TEST_CASE("running() counts children until just before their callback fires") {
        boost::asio::io_context io;
        child_process_runner runner{io.get_executor()};
        CHECK(runner.running() == 0);
        std::optional<std::size_t> running_in_callback;
        runner.start(command({"true"}),
                     [&](child_result) { running_in_callback = runner.running(); });
        CHECK(runner.running() == 1);
        REQUIRE(run_until(io, 5s, [&] { return running_in_callback.has_value(); }));
        CHECK(*running_in_callback == 0);
        CHECK(runner.running() == 0);
    }

    TEST_CASE("fifty children run in parallel, each callback fires exactly once") {
        boost::asio::io_context io;
        child_process_runner runner{io.get_executor()};
        constexpr int count = 50;
        std::vector<int> calls(count, 0);
        std::vector<child_result> results(count);
        for (int i = 0; i < count; ++i) {
            auto spec =
                command({"sh", "-c", "sleep 0.1; echo \"$0\"", "child-" + std::to_string(i)});
            runner.start(std::move(spec), [&, i](child_result r) {
                ++calls[static_cast<std::size_t>(i)];
                results[static_cast<std::size_t>(i)] = std::move(r);
            });
        }
        CHECK(runner.running() == count);
        auto all_called = [&] {
            for (int c : calls) {
                if (c == 0) {
                    return false;
                }
            }
            return true;
        };
        REQUIRE(run_until(io, 20s, all_called));
        run_for(io, 100ms);  // a second call would show up here
        CHECK(runner.running() == 0);
        for (int i = 0; i < count; ++i) {
            auto index = static_cast<std::size_t>(i);
            CHECK(calls[index] == 1);
            CHECK(results[index].exit_code == 0);
            CHECK(results[index].output == "child-" + std::to_string(i) + "\n");
        }
    }

    TEST_CASE("kill_all kills every running child and their callbacks still fire") {
        boost::asio::io_context io;
        child_process_runner runner{io.get_executor()};
        std::vector<child_result> results;
        for (int i = 0; i < 3; ++i) {
            runner.start(command({"sleep", "30"}, 30s),
                         [&](child_result r) { results.push_back(std::move(r)); });
        }
        CHECK(runner.running() == 3);
        runner.kill_all();
        REQUIRE(run_until(io, 5s, [&] { return results.size() == 3; }));
        CHECK(runner.running() == 0);
        for (const auto& result : results) {
            CHECK(result.how == outcome::signaled);
            CHECK(result.signal == SIGKILL);
        }
    }

    TEST_CASE("destroying the runner kills and reaps its children and never calls back") {
        REQUIRE_FALSE(has_children());
        boost::asio::io_context io;
        auto runner = std::make_unique<child_process_runner>(io.get_executor());
        bool called = false;
        runner->start(command({"sleep", "30"}, 30s), [&](child_result) { called = true; });
        runner->start(command({"/nonexistent"}), [&](child_result) { called = true; });
        CHECK(has_children());
        auto begin = steady::now();
        runner.reset();
        CHECK(steady::now() - begin < 1s);
        CHECK_FALSE(has_children());  // neither running nor a zombie
        run_for(io, 200ms);
        CHECK_FALSE(called);
    }

    TEST_CASE("a callback may destroy the runner or start another child") {
        boost::asio::io_context io;
        auto runner = std::make_unique<child_process_runner>(io.get_executor());
        std::vector<int> codes;
        runner->start(command({"sh", "-c", "exit 1"}), [&](child_result first) {
            codes.push_back(first.exit_code);
            runner->start(command({"sh", "-c", "exit 2"}), [&](child_result second) {
                codes.push_back(second.exit_code);
                runner.reset();
            });
        });
        REQUIRE(run_until(io, 5s, [&] { return runner == nullptr; }));
        CHECK(codes == std::vector<int>{1, 2});
        run_for(io, 100ms);  // queued handlers must not touch the runner
    }

    TEST_CASE("an exception thrown by a callback does not escape into the event loop") {
        boost::asio::io_context io;
        child_process_runner runner{io.get_executor()};
        bool called = false;
        runner.start(command({"true"}), [&](child_result) {
            called = true;
            throw std::runtime_error("callback failure");
        });
        CHECK_NOTHROW(run_until(io, 5s, [&] { return called; }));
        CHECK(called);
        CHECK(runner.running() == 0);
    }

    TEST_CASE("a configured user runs the child with that user's ids") {
        if (::geteuid() != 0) {
            MESSAGE("skipped: switching users needs root");
            return;
        }
        auto spec = command({"sh", "-c", "id -u; id -g; id -G"});
        spec.run_as = vigil::look_up_user("nobody");
        auto result = run(std::move(spec));
        CHECK(result.how == outcome::exited);
        CHECK(result.output == "65534\n65534\n65534\n");  // root's groups are gone too
    }

    TEST_CASE("a user looked up with a group runs with that group as its primary one") {
        if (::geteuid() != 0) {
            MESSAGE("skipped: switching users needs root");
            return;
        }
        auto spec = command({"sh", "-c", "id -u; id -g; id -G"});
        spec.run_as = vigil::look_up_user("nobody", "daemon");
        REQUIRE(spec.run_as->found());
        auto result = run(std::move(spec));
        CHECK(result.how == outcome::exited);
        CHECK(result.output == "65534\n1\n1\n");
    }

    TEST_CASE("switching to another user without root is a spawn failure naming the step") {
        if (::geteuid() == 0) {
            MESSAGE("skipped: root may switch to any user");
            return;
        }
        auto spec = command({"true"});
        spec.run_as = vigil::look_up_user("root");
        auto result = run(std::move(spec));
        CHECK(result.how == outcome::spawn_failed);
        CHECK(result.error == "cannot set the groups of user root: Operation not permitted");
    }

    TEST_CASE("no descriptor and no zombie is left behind, whatever the outcome") {
        auto before = open_descriptors();
        REQUIRE_FALSE(has_children());
        std::vector<pid_t> grandchildren;
        {
            boost::asio::io_context io;
            child_process_runner runner{io.get_executor()};
            int finished = 0;
            auto count = [&](child_result) { ++finished; };
            auto keep_pid = [&](child_result r) {
                ++finished;
                if (!r.output.empty()) {
                    grandchildren.push_back(first_line_as_pid(r.output));
                }
            };
            runner.start(command({"/bin/true"}), count);
            runner.start(command({"sh", "-c", "echo hi; exit 3"}), count);
            runner.start(command({"/nonexistent"}), count);
            auto unknown = command({"true"});
            unknown.run_as = vigil::look_up_user("vigil-no-such-user");
            runner.start(std::move(unknown), count);
            runner.start(command({"head", "-c", "1048576", "/dev/zero"}), count);
            runner.start(command({"sleep", "30"}, 100ms), count);
            runner.start(command({"sh", "-c", "sleep 30 & echo $!"}), keep_pid);
            runner.start(command({"sh", "-c", "sleep 30 & echo $!; wait"}, 100ms), keep_pid);
            REQUIRE(run_until(io, 10s, [&] { return finished == 8; }));

            runner.start(command({"sleep", "30"}, 30s), count);
            runner.kill_all();
            REQUIRE(run_until(io, 5s, [&] { return finished == 9; }));

            // Still running when the runner and the loop go away.
            runner.start(command({"sleep", "30"}, 30s), count);
        }
        for (auto pid : grandchildren) {
            ::kill(pid, SIGKILL);
        }
        CHECK_FALSE(has_children());
        CHECK(open_descriptors() == before);
    }
}
