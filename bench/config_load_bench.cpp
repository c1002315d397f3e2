// How long validating a large configuration takes, and the memory it needs. Every reload
// re-reads and re-validates the whole configuration, so this bounds how fast SIGHUP answers.
//
// Usage: config_load_bench [VIRTUAL_SERVERS [REAL_SERVERS_EACH [ROUNDS]]]   (default 1000 10 5)

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/loader.hpp"

namespace {

long peak_rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::strtol(line.c_str() + 6, nullptr, 10);
        }
    }
    return -1;
}

void write_config(const std::filesystem::path& dir, int virtual_servers, int real_servers) {
    std::filesystem::create_directories(dir / "conf.d");
    std::ofstream(dir / "vigil.toml")
        << "[global]\ninclude = [\"conf.d/*.toml\"]\n\n"
           "[[vrrp_instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\n"
           "virtual_router_id = 51\nversion = 3\n"
           "virtual_ipaddress = [\"10.0.0.1/16\"]\n";
    for (int v = 0; v < virtual_servers; ++v) {
        std::ofstream out(dir / "conf.d" / ("vs" + std::to_string(v) + ".toml"));
        out << "[virtual_server]\naddress = \"10.0." << v / 250 << "." << v % 250 + 1
            << ":80\"\nscheduler = \"wrr\"\ncheck = { type = \"http\", path = \"/health\", "
               "status = [200, \"300-302\"], body_regex = \"^OK\", interval = \"1s\", "
               "timeout = \"500ms\", rise = 2, fall = 3 }\n";
        for (int r = 0; r < real_servers; ++r) {
            int n = v * real_servers + r;
            out << "\n[[virtual_server.real_server]]\naddress = \"10.1." << n / 250 << "."
                << n % 250 + 1 << ":8080\"\nweight = " << r + 1 << "\n";
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    int virtual_servers = argc > 1 ? std::atoi(argv[1]) : 1000;
    int real_servers = argc > 2 ? std::atoi(argv[2]) : 10;
    int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
    char pattern[] = "/tmp/vigil-bench-XXXXXX";
    std::filesystem::path dir = ::mkdtemp(pattern);
    write_config(dir, virtual_servers, real_servers);

    long rss_before = peak_rss_kib();
    std::vector<double> times;
    std::size_t loaded = 0;
    for (int i = 0; i < rounds; ++i) {
        auto start = std::chrono::steady_clock::now();
        auto result = vigil::config::load_configuration((dir / "vigil.toml").string());
        auto elapsed = std::chrono::steady_clock::now() - start;
        if (!result.config) {
            std::fprintf(stderr, "benchmark config invalid: %s\n",
                         vigil::config::to_string(result.diagnostics.front()).c_str());
            return 1;
        }
        loaded = result.config->real_server_count();
        times.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
    }
    std::filesystem::remove_all(dir);
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    std::printf("config load: %d virtual servers x %d real servers (%zu real servers, %d files)\n",
                virtual_servers, real_servers, loaded, virtual_servers + 1);
    std::printf("  median %.1f ms, min %.1f ms, max %.1f ms over %d rounds\n", median,
                times.front(), times.back(), rounds);
    std::printf("  %.2f us per real server\n", median * 1000.0 / static_cast<double>(loaded));
    std::printf("  peak RSS %ld KiB (before loading %ld KiB)\n", peak_rss_kib(), rss_before);
    return 0;
}
