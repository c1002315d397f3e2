// Integration tests of the file check type: an operator's state file in a scratch folder, written
// in place and renamed over, followed through inotify by the real engine.

#include <unistd.h>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "checkers/health_monitor.hpp"

using namespace vigil;
using namespace vigil::checkers;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct file_harness {
    fs::path dir;
    boost::asio::io_context io;
    event_log log{std::make_unique<memory_sink>()};
    random_source random{11};
    steady_clock_source clock{io.get_executor()};
    health_monitor monitor{io.get_executor(), log, random, clock, [](const health_change&) {}};
    checked_server_spec spec;

    explicit file_harness(health missing = health::down) {
        spec.checks.emplace_back();
        char pattern[] = "/tmp/vigil-file-check-XXXXXX";
        dir = ::mkdtemp(pattern);
        spec.virtual_server = "web";
        spec.endpoint = ip_endpoint{*parse_address("192.0.2.10"), 80};
        spec.name = "web/192.0.2.10:80";
        spec.weight = 3;
        spec.checks.front().type = check_type::file;
        spec.checks.front().interval = 100ms;
        spec.checks.front().recheck_interval = 100ms;
        spec.checks.front().timeout = 50ms;
        spec.checks.front().file.path = (dir / "web1.state").string();
        spec.checks.front().file.missing_state = missing;
    }
    ~file_harness() { fs::remove_all(dir); }

    void write(const std::string& content) const {
        std::ofstream(spec.checks.front().file.path) << content;
    }
    // As an operator's tooling does: a new file renamed over the old one.
    void replace(const std::string& content) const {
        auto temporary = dir / "web1.state.tmp";
        std::ofstream(temporary) << content;
        fs::rename(temporary, spec.checks.front().file.path);
    }
    bool wait_for(const std::function<bool(const real_server_status&)>& done) {
        auto end = std::chrono::steady_clock::now() + 2s;
        while (std::chrono::steady_clock::now() < end) {
            if (auto s = monitor.status(spec.name); s && s->deciding().checked && done(*s)) {
                return true;
            }
            io.run_for(10ms);
        }
        return false;
    }
};

}  // namespace

TEST_CASE("file: the state follows the file as it is written and renamed over") {
    file_harness h;
    h.write("up\n");
    h.monitor.update({h.spec});
    CHECK(h.wait_for(
        [](const auto& s) { return s.state == health::up && s.deciding().last.success; }));
    h.write("down\n");
    CHECK(h.wait_for([](const auto& s) { return s.state == health::down; }));
    CHECK(h.monitor.status(h.spec.name)->deciding().last.reason == "state file says down");
    h.replace("up\n");
    CHECK(h.wait_for([](const auto& s) { return s.state == health::up; }));
    h.replace("weight 9\n");
    CHECK(h.wait_for([](const auto& s) { return s.weight == 9; }));
    h.replace("nonsense\n");
    CHECK(h.wait_for([](const auto& s) { return s.state == health::down; }));
}

TEST_CASE("file: a missing file is down, or up when so configured") {
    {
        file_harness h;
        h.monitor.update({h.spec});
        CHECK(h.wait_for([](const auto& s) { return s.state == health::down; }));
        CHECK(h.monitor.status(h.spec.name)->deciding().last.reason.find("is missing") !=
              std::string::npos);
        h.write("up");
        CHECK(h.wait_for([](const auto& s) { return s.state == health::up; }));
        fs::remove(h.spec.checks.front().file.path);
        CHECK(h.wait_for([](const auto& s) { return s.state == health::down; }));
    }
    file_harness h(health::up);
    h.monitor.update({h.spec});
    CHECK(h.wait_for(
        [](const auto& s) { return s.state == health::up && s.deciding().last.success; }));
}
