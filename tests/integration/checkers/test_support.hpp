// What the checkers integration tests need around a real server: a child process, a free port,
// one probe run on a fresh loop.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "checkers/probe_result.hpp"

namespace vigil::test {

// The test cases of this run that could not run here, each with why. A case that skips says
// so with skip() and returns; integration_main.cpp then ends a run that failed nothing with
// exit code 77, which ctest reports as "***Skipped" (SKIP_RETURN_CODE) and CI=true refuses, so a
// skip is never a silent pass. Integration tests skip only when they are not root.
inline std::vector<std::string>& skipped_cases() {
    static std::vector<std::string> reasons;
    return reasons;
}

inline void skip(const std::string& why) {
    MESSAGE(why << "; skipped");
    skipped_cases().push_back(why);
}

// Whether a case has what it needs (`what`: "dnsmasq", "a network namespace"). Without it, the
// case fails as root, who must be able to run every case, and skips otherwise.
inline bool has_what_it_needs(bool available, const std::string& what) {
    if (available) {
        return true;
    }
    if (::geteuid() == 0) {
        FAIL_CHECK("no " << what << ", which root must have to run this case");
    } else {
        skip("no " + what + " (not root)");
    }
    return false;
}

// A child process whose stdin is a pipe: closing it (or SIGTERM) ends the child.
struct child {
    pid_t pid = -1;
    int stdin_fd = -1;

    // Starts argv; returns the first line the child prints (empty when `read_line` is false).
    // `quiet`: its stderr goes to /dev/null (a daemon's log in the foreground).
    std::string start(const std::vector<std::string>& argv, bool read_line, bool quiet = false) {
        int in[2];
        int out[2];
        REQUIRE(pipe2(in, O_CLOEXEC) == 0);
        REQUIRE(pipe2(out, O_CLOEXEC) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            if (quiet) {
                int null = ::open("/dev/null", O_WRONLY);
                dup2(null, 2);
            }
            std::vector<char*> args;
            for (const auto& a : argv) {
                args.push_back(const_cast<char*>(a.c_str()));
            }
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        stdin_fd = in[1];
        std::string line;
        char c;
        while (read_line && ::read(out[0], &c, 1) == 1 && c != '\n') {
            line += c;
        }
        close(out[0]);
        return line;
    }
    void stop() {
        if (pid > 0) {
            close(stdin_fd);
            kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    ~child() { stop(); }
};

// The ports a helper script prints as its first line, {"name": port, ...}.
inline std::map<std::string, std::uint16_t> read_ports(const std::string& line) {
    std::map<std::string, std::uint16_t> ports;
    auto doc = boost::json::parse(line);
    for (const auto& [k, v] : doc.as_object()) {
        ports[std::string(k)] = static_cast<std::uint16_t>(v.as_int64());
    }
    return ports;
}

// A loopback TCP port no one listens on: bound, noted, closed.
inline std::uint16_t unused_tcp_port() {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
}

inline ip_endpoint loopback_endpoint(std::uint16_t port, const char* address = "127.0.0.1") {
    return ip_endpoint{*parse_address(address), port};
}

// Runs one probe to its end (or `limit`) on a fresh loop.
template <class Make>
std::optional<checkers::probe_result> run_probe(
    Make make, std::chrono::milliseconds limit = std::chrono::seconds(3)) {
    boost::asio::io_context io;
    auto p = make(io.get_executor());
    std::optional<checkers::probe_result> result;
    p->start([&](checkers::probe_result r) { result = std::move(r); });
    auto end = std::chrono::steady_clock::now() + limit;
    while (!result && std::chrono::steady_clock::now() < end) {
        io.run_for(std::chrono::milliseconds(5));
    }
    return result;
}

}  // namespace vigil::test
