// flow_echo: the two ends of the long-lived TCP flows the ECMP lab (ecmp_lab.sh) sends through
// its directors.
//
//   flow_echo serve PORT NAME
//       An echo service: greets every connection with "NAME\n", then sends back every byte it
//       reads. One process, poll(), any number of connections.
//   flow_echo flows ADDRESS PORT COUNT INTERVAL_MS REPORT
//       Opens COUNT connections to ADDRESS:PORT and writes one numbered line on each every
//       INTERVAL_MS, checking that the echo comes back byte for byte. SIGUSR1 writes REPORT (a
//       new file, renamed into place) and SIGTERM writes it a last time and exits. A flow is
//       "ok" while it has no error and no line unanswered for longer than 1 s, "stalled" when a
//       line has waited longer, "broken:REASON" once the connection failed (reset, end of
//       stream, an echo that differs, or a greeting from another real server).
//
// The report's first line is "flows N ok K stalled S broken B"; then one line per flow:
//   flow I port LOCAL_PORT rs NAME state STATE sent LINES echoed LINES gap_ms G
// where G is the longest wait between two echoes on that flow since the previous report (the
// window restarts with each report): how long the flow stood still.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

volatile sig_atomic_t report_asked = 0;
volatile sig_atomic_t stop_asked = 0;

void on_signal(int signal) {
    if (signal == SIGUSR1) {
        report_asked = 1;
    } else {
        stop_asked = 1;
    }
}

void install_signals() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    for (int s : {SIGUSR1, SIGTERM, SIGINT}) {
        sigaction(s, &action, nullptr);
    }
    signal(SIGPIPE, SIG_IGN);
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "flow_echo: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

void set_nonblocking(int fd) {
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        die("fcntl");
    }
}

// --- serve -------------------------------------------------------------------------------------

int serve(int port, const std::string& name) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        die("socket");
    }
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
        die("bind");
    }
    if (listen(listener, 512) < 0) {
        die("listen");
    }
    set_nonblocking(listener);
    install_signals();
    // Bytes read but not yet written back, per connection.
    std::map<int, std::string> pending;
    const std::string greeting = name + "\n";
    while (!stop_asked) {
        std::vector<pollfd> fds{{listener, POLLIN, 0}};
        for (const auto& [fd, out] : pending) {
            fds.push_back({fd, static_cast<short>(out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
        }
        if (poll(fds.data(), fds.size(), 500) < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("poll");
        }
        if (fds[0].revents & POLLIN) {
            for (int fd; (fd = accept(listener, nullptr, nullptr)) >= 0;) {
                set_nonblocking(fd);
                pending[fd] = greeting;
            }
        }
        for (std::size_t i = 1; i < fds.size(); ++i) {
            int fd = fds[i].fd;
            auto& out = pending[fd];
            bool closed = (fds[i].revents & (POLLERR | POLLNVAL)) != 0;
            if (!closed && (fds[i].revents & (POLLIN | POLLHUP))) {
                char buffer[4096];
                ssize_t n = read(fd, buffer, sizeof buffer);
                if (n > 0) {
                    out.append(buffer, static_cast<std::size_t>(n));
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    closed = true;
                }
            }
            if (!closed && !out.empty()) {
                ssize_t n = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
                if (n > 0) {
                    out.erase(0, static_cast<std::size_t>(n));
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    closed = true;
                }
            }
            if (closed) {
                close(fd);
                pending.erase(fd);
            }
        }
    }
    return 0;
}

// --- flows -------------------------------------------------------------------------------------

struct flow {
    int fd = -1;
    int local_port = 0;
    bool connected = false;
    std::string real_server;                    // from the greeting
    std::string greeting;                       // the greeting as it arrives
    std::string broken;                         // why it failed; empty while it works
    std::string expected;                       // bytes written and not yet echoed
    std::deque<steady::time_point> unanswered;  // when each unechoed line was written
    std::string unsent;
    long sent = 0;
    long echoed = 0;
    steady::time_point last_echo{};
    long gap_ms = 0;  // longest wait between echoes in this report window
};

void fail(flow& f, const std::string& why) {
    if (f.broken.empty()) {
        f.broken = why;
    }
    if (f.fd >= 0) {
        close(f.fd);
        f.fd = -1;
    }
}

long since_ms(steady::time_point then, steady::time_point now) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - then).count());
}

void receive(flow& f, steady::time_point now) {
    char buffer[4096];
    ssize_t n = read(f.fd, buffer, sizeof buffer);
    if (n == 0) {
        fail(f, "eof");
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            return;
        }
        fail(f, errno == ECONNRESET ? "reset" : std::string("read:") + std::strerror(errno));
        return;
    }
    std::string data(buffer, static_cast<std::size_t>(n));
    if (f.real_server.empty()) {
        auto end = data.find('\n');
        auto take = end == std::string::npos ? data.size() : end + 1;
        f.greeting += data.substr(0, take);
        data.erase(0, take);
        if (f.greeting.back() == '\n') {
            f.real_server = f.greeting.substr(0, f.greeting.size() - 1);
        }
    }
    if (data.empty()) {
        return;
    }
    if (f.expected.compare(0, data.size(), data) != 0) {
        // Not the echo of what was written (a real server that never saw the flow would
        // rather reset it).
        fail(f, data.size() <= f.expected.size() ? "mismatch" : "unexpected-data");
        return;
    }
    f.expected.erase(0, data.size());
    for (char c : data) {
        if (c == '\n' && !f.unanswered.empty()) {
            f.gap_ms = std::max(f.gap_ms, since_ms(f.last_echo, now));
            f.last_echo = now;
            f.unanswered.pop_front();
            ++f.echoed;
        }
    }
}

void flush(flow& f) {
    while (f.fd >= 0 && !f.unsent.empty()) {
        ssize_t n = send(f.fd, f.unsent.data(), f.unsent.size(), MSG_NOSIGNAL);
        if (n > 0) {
            f.unsent.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        } else {
            fail(f, errno == ECONNRESET ? "reset" : std::string("send:") + std::strerror(errno));
        }
    }
}

std::string state_of(const flow& f, steady::time_point now) {
    if (!f.broken.empty()) {
        return "broken:" + f.broken;
    }
    if (!f.connected || f.real_server.empty()) {
        return "stalled";
    }
    if (!f.unanswered.empty() && since_ms(f.unanswered.front(), now) > 1000) {
        return "stalled";
    }
    return "ok";
}

void write_report(std::vector<flow>& flows, const std::string& path) {
    auto now = steady::now();
    int ok = 0, stalled = 0, broken = 0;
    std::string body;
    for (std::size_t i = 0; i < flows.size(); ++i) {
        auto& f = flows[i];
        auto state = state_of(f, now);
        ok += state == "ok";
        stalled += state == "stalled";
        broken += state.rfind("broken", 0) == 0;
        // A flow waiting for its echo right now has stood still since its last one.
        long gap = f.unanswered.empty() ? f.gap_ms : std::max(f.gap_ms, since_ms(f.last_echo, now));
        body += "flow " + std::to_string(i) + " port " + std::to_string(f.local_port) + " rs " +
                (f.real_server.empty() ? "-" : f.real_server) + " state " + state + " sent " +
                std::to_string(f.sent) + " echoed " + std::to_string(f.echoed) + " gap_ms " +
                std::to_string(gap) + "\n";
        f.gap_ms = 0;
    }
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << "flows " << flows.size() << " ok " << ok << " stalled " << stalled << " broken "
            << broken << "\n"
            << body;
        if (!out) {
            die("write " + tmp);
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        die("rename " + tmp);
    }
}

int run_flows(const std::string& address, int port, int count, int interval_ms,
              const std::string& report) {
    install_signals();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1) {
        std::fprintf(stderr, "flow_echo: bad address %s\n", address.c_str());
        return 64;
    }
    std::vector<flow> flows(static_cast<std::size_t>(count));
    for (auto& f : flows) {
        f.fd = socket(AF_INET, SOCK_STREAM, 0);
        if (f.fd < 0) {
            die("socket");
        }
        int one = 1;
        setsockopt(f.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_nonblocking(f.fd);
        if (connect(f.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 &&
            errno != EINPROGRESS) {
            fail(f, std::string("connect:") + std::strerror(errno));
            continue;
        }
        sockaddr_in local{};
        socklen_t length = sizeof local;
        getsockname(f.fd, reinterpret_cast<sockaddr*>(&local), &length);
        f.local_port = ntohs(local.sin_port);
        f.last_echo = steady::now();
        // Spread the handshakes: a burst of SYNs is not what the test is about.
        usleep(20000);
    }
    auto interval = std::chrono::milliseconds(interval_ms);
    auto next_line = steady::now() + interval;
    while (!stop_asked) {
        std::vector<pollfd> fds;
        std::vector<flow*> owners;
        for (auto& f : flows) {
            if (f.fd >= 0) {
                short events = POLLIN;
                if (!f.connected || !f.unsent.empty()) {
                    events |= POLLOUT;
                }
                fds.push_back({f.fd, events, 0});
                owners.push_back(&f);
            }
        }
        auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_line - steady::now());
        int timeout = static_cast<int>(std::clamp<long>(wait.count(), 0, interval_ms));
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
            die("poll");
        }
        auto now = steady::now();
        for (std::size_t i = 0; i < fds.size(); ++i) {
            auto& f = *owners[i];
            if (!f.connected && (fds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(f.fd, SOL_SOCKET, SO_ERROR, &error, &length);
                if (error != 0) {
                    fail(f, std::string("connect:") + std::strerror(error));
                    continue;
                }
                f.connected = true;
                f.last_echo = now;
            }
            if (f.fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                receive(f, now);
            }
            if (f.fd >= 0 && (fds[i].revents & POLLOUT)) {
                flush(f);
            }
        }
        if (now >= next_line) {
            next_line += interval;
            if (next_line < now) {
                next_line = now + interval;  // the guest fell behind; do not burst
            }
            for (auto& f : flows) {
                if (f.fd < 0 || !f.connected || f.real_server.empty()) {
                    continue;
                }
                char line[32];
                std::snprintf(line, sizeof line, "%010ld\n", f.sent);
                f.unsent += line;
                f.expected += line;
                if (f.unanswered.empty()) {
                    f.last_echo = std::max(f.last_echo, now - interval);
                }
                f.unanswered.push_back(now);
                ++f.sent;
                flush(f);
            }
        }
        if (report_asked) {
            report_asked = 0;
            write_report(flows, report);
        }
    }
    write_report(flows, report);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 3 && args[0] == "serve") {
        return serve(std::atoi(args[1].c_str()), args[2]);
    }
    if (args.size() == 6 && args[0] == "flows") {
        return run_flows(args[1], std::atoi(args[2].c_str()), std::atoi(args[3].c_str()),
                         std::atoi(args[4].c_str()), args[5]);
    }
    std::fprintf(stderr,
                 "usage: flow_echo serve PORT NAME\n"
                 "       flow_echo flows ADDRESS PORT COUNT INTERVAL_MS REPORT\n");
    return 64;
}
