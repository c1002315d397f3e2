// Health-check benchmark: CPU of the checking process per 10,000 HTTP and TCP checks, sustained
// checks per second on one core, RSS with 10,000 real servers, and fd count / RSS over a long run.
// The server (checkers_bench_server) runs in a separate process; only this process is measured.
//
// Usage: see usage below (`checkers_bench --help`). bench/checkers_vs_haproxy.py runs it with
// --port against its own server and measures it from outside, as it measures HAProxy.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/event_log.hpp"
#include "checkers/health_monitor.hpp"

using namespace vigil;
using namespace vigil::checkers;
using namespace std::chrono_literals;

namespace {

double tv_seconds(timeval t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double user_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return tv_seconds(u.ru_utime);
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto tv = [](timeval t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return tv(u.ru_utime) + tv(u.ru_stime);
}

double rss_mb(const char* field = "VmRSS:") {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field, 0) == 0) {
            return std::strtod(line.c_str() + std::strlen(field), nullptr) / 1024.0;
        }
    }
    return 0;
}

int fd_count() {
    int n = 0;
    DIR* d = opendir("/proc/self/fd");
    while (dirent* e = readdir(d)) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n - 1;  // the DIR itself
}

struct server_process {
    pid_t pid = -1;
    int stdin_fd = -1;
    std::uint16_t port = 0;

    explicit server_process(const char* path) {
        int in[2];
        int out[2];
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
            std::perror("pipe");
            std::exit(1);
        }
        pid = fork();
        if (pid == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            execl(path, path, static_cast<char*>(nullptr));
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        stdin_fd = in[1];
        char buf[32] = {};
        auto n = read(out[0], buf, sizeof buf - 1);
        close(out[0]);
        port = static_cast<std::uint16_t>(n > 0 ? std::atoi(buf) : 0);
        if (port == 0) {
            std::fprintf(stderr, "bench server did not start (%s)\n", path);
            std::exit(1);
        }
    }
    ~server_process() {
        close(stdin_fd);
        waitpid(pid, nullptr, 0);
    }
};

struct null_sink final : log_sink {
    void write(const log_record&) override {}
};

constexpr const char* usage =
    "usage: checkers_bench [--servers N] [--seconds S] [--soak S] [--interval-ms MS]\n"
    "                      [--only http|https|tcp|saturate|soak] [--reuse] [--no-tls-resume]\n"
    "                      [--port PORT]\n"
    "  --servers N       real servers, on 127.1.x.y (default 10000)\n"
    "  --seconds S       measured seconds per run, after one interval of warm-up (default 20)\n"
    "  --soak S          seconds of the soak run (default 60)\n"
    "  --interval-ms MS  check interval (default 1000)\n"
    "  --only RUN        one run only; without it: http, tcp, soak, saturate\n"
    "  --reuse           http: reuse_connection = true (the server keeps connections alive only\n"
    "                    when it runs with --keep-alive, i.e. with --port)\n"
    "  --no-tls-resume   https: a full TLS handshake on every check (tls_session_reuse = false)\n"
    "  --port PORT       check a checkers_bench_server already listening on PORT instead of\n"
    "                    starting one\n";

std::vector<checked_server_spec> make_servers(int count, check_type type, std::uint16_t port,
                                              duration interval, bool reuse, bool tls_resume) {
    std::vector<checked_server_spec> out;
    for (int i = 0; i < count; ++i) {
        checked_server_spec s;
        s.checks.emplace_back();
        s.virtual_server = "bench";
        auto address = "127.1." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
        s.endpoint = ip_endpoint{*parse_address(address), port};
        s.name = "bench/" + to_string(s.endpoint);
        s.checks.front().type = type;
        s.checks.front().interval = interval;
        s.checks.front().recheck_interval = interval;
        s.checks.front().timeout = std::min<duration>(interval, 2s);
        s.checks.front().http.path = "/health";
        s.checks.front().http.reuse_connection = reuse;
        s.checks.front().http.tls_verify = false;
        s.checks.front().http.tls_session_reuse = tls_resume;
        out.push_back(std::move(s));
    }
    return out;
}

struct run_result {
    double checks_per_second = 0;
    double cpu_per_second = 0;
    double cpu_per_10k = 0;
    double rss = 0;
    std::uint64_t failures = 0;
};

// Runs `count` real servers for warmup + seconds and measures the measured part.
run_result measure(const char* label, check_type type, int count, duration interval,
                   std::uint16_t port, double seconds, bool soak, bool reuse = false,
                   bool tls_resume = true) {
    boost::asio::io_context io(1);
    event_log log(std::make_unique<null_sink>());
    random_source random(1);
    steady_clock_source clock(io.get_executor());
    std::uint64_t downs = 0;
    health_monitor monitor(io.get_executor(), log, random, clock,
                           [&](const health_change& c) { downs += c.state == health::down; });
    monitor.update(make_servers(count, type, port, interval, reuse, tls_resume));
    io.run_for(interval + 500ms);  // every probe has started once: the jitter spread is over
    auto before = monitor.stats();
    double cpu0 = cpu_seconds();
    double user0 = user_seconds();
    auto t0 = std::chrono::steady_clock::now();
    int fds0 = fd_count();
    double rss0 = rss_mb();
    if (soak) {
        std::printf("  %-8s %8s %10s %8s %6s\n", "t(s)", "checks", "RSS(MB)", "fds", "down");
    }
    double step = soak ? 10.0 : seconds;
    for (double done = 0; done < seconds; done += step) {
        io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::duration<double>(std::min(step, seconds - done))));
        if (soak) {
            std::printf("  %-8.0f %8llu %10.1f %8d %6llu\n", done + step,
                        static_cast<unsigned long long>(monitor.stats().runs_completed), rss_mb(),
                        fd_count(), static_cast<unsigned long long>(downs));
            std::fflush(stdout);
        }
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = cpu_seconds() - cpu0;
    double user = user_seconds() - user0;
    auto after = monitor.stats();
    auto checks = static_cast<double>(after.runs_completed - before.runs_completed);
    run_result r;
    r.checks_per_second = checks / wall;
    r.cpu_per_second = cpu / wall;
    r.cpu_per_10k = checks > 0 ? cpu / checks * 10000 : 0;
    r.rss = rss_mb();
    std::uint64_t failures = 0;
    std::map<std::string, int> reasons;
    for (const auto& st : monitor.status()) {
        if (st.deciding().checked && !st.deciding().last.success) {
            ++failures;
            ++reasons[st.deciding().last.reason];
        }
    }
    r.failures = failures;
    std::printf(
        "%-9s %6d servers every %5lld ms: %8.0f checks/s, CPU %5.1f%% of a core, "
        "%.3f CPU-s per 10,000 checks, RSS %.1f MB (peak %.1f), fds %d -> %d, "
        "failing now %llu, timeouts %llu, deferred %llu\n",
        label, count, static_cast<long long>(interval.count()), r.checks_per_second,
        r.cpu_per_second * 100, r.cpu_per_10k, r.rss, rss_mb("VmHWM:"), fds0, fd_count(),
        static_cast<unsigned long long>(failures),
        static_cast<unsigned long long>(after.runs_timed_out - before.runs_timed_out),
        static_cast<unsigned long long>(after.runs_deferred - before.runs_deferred));
    if (checks > 0) {
        std::printf("  of which user %.3f s and kernel %.3f s per 10,000 checks\n",
                    user / checks * 10000, (cpu - user) / checks * 10000);
    }
    for (const auto& [reason, n] : reasons) {
        std::printf("  failing: %d x %s\n", n, reason.c_str());
    }
    if (soak) {
        std::printf("  RSS %.1f -> %.1f MB over %.0f s\n", rss0, r.rss, seconds);
    }
    std::fflush(stdout);
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    int servers = 10000;
    double seconds = 20;
    double soak = 60;
    std::string only;
    long interval_ms = 1000;
    long external_port = 0;
    bool reuse = false;
    bool tls_resume = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "--help" || a == "-h") {
            std::fputs(usage, stdout);
            return 0;
        } else if (a == "--reuse") {
            reuse = true;
        } else if (a == "--no-tls-resume") {
            tls_resume = false;
        } else if (a == "--servers" && has_value) {
            servers = std::atoi(argv[++i]);
        } else if (a == "--seconds" && has_value) {
            seconds = std::atof(argv[++i]);
        } else if (a == "--soak" && has_value) {
            soak = std::atof(argv[++i]);
        } else if (a == "--interval-ms" && has_value) {
            interval_ms = std::atol(argv[++i]);
        } else if (a == "--only" && has_value) {
            only = argv[++i];
        } else if (a == "--port" && has_value) {
            external_port = std::atol(argv[++i]);
        } else {
            std::fprintf(stderr, "checkers_bench: unknown or incomplete option %s\n%s", a.c_str(),
                         usage);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
    std::optional<server_process> own_server;
    std::uint16_t port = static_cast<std::uint16_t>(external_port);
    if (port == 0) {
        own_server.emplace(VIGIL_BENCH_SERVER);
        port = own_server->port;
        std::printf("checkers_bench: server pid %d on port %u (separate process, not measured)\n",
                    own_server->pid, port);
    }
    struct server_port {
        std::uint16_t port;
    } server{port};
    if (only.empty() || only == "http") {
        measure("http", check_type::http, servers, duration{interval_ms}, server.port, seconds,
                false, reuse);
    }
    if (only == "https") {
        measure("https", check_type::https, servers, duration{interval_ms}, server.port, seconds,
                false, reuse, tls_resume);
    }
    if (only.empty() || only == "tcp") {
        measure("tcp", check_type::tcp, servers, duration{interval_ms}, server.port, seconds,
                false);
    }
    if (only.empty() || only == "soak") {
        measure("soak", check_type::http, servers, 1s, server.port, soak, true);
    }
    if (only.empty() || only == "saturate") {
        // Four times the load the target asks for: what one core sustains (the rest waits).
        measure("saturate", check_type::http, servers, 250ms, server.port, seconds / 2, false);
    }
}
