#include "vrrp/announcer.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

// Runs the loop for `span` and returns when each round was sent, relative to the start.
std::vector<std::chrono::milliseconds> rounds_during(announce_spec settings,
                                                     std::chrono::milliseconds span,
                                                     std::function<void(announcer&)> midway = {}) {
    boost::asio::io_context io;
    auto start = std::chrono::steady_clock::now();
    std::vector<std::chrono::milliseconds> sent;
    announcer a(io.get_executor(), settings, [&] {
        sent.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start));
    });
    a.start();
    if (midway) {
        io.run_for(span / 2);
        midway(a);
        io.restart();
        io.run_for(span / 2);
    } else {
        io.run_for(span);
    }
    return sent;
}

}  // namespace

TEST_CASE("a new master sends a burst at once and a second one after master_delay") {
    announce_spec s;
    s.master_repeat = 3;
    s.interval = 20ms;
    s.master_delay = 200ms;
    auto sent = rounds_during(s, 600ms);
    REQUIRE(sent.size() == 6);
    CHECK(sent[0] < 20ms);
    CHECK(sent[2] >= 40ms);
    CHECK(sent[2] < 150ms);
    CHECK(sent[3] >= 240ms);  // 40ms burst + 200ms delay
    CHECK(sent[3] < 400ms);
}

TEST_CASE("master_delay 0 means no second burst") {
    announce_spec s;
    s.master_repeat = 2;
    s.master_delay = 0ms;
    CHECK(rounds_during(s, 300ms).size() == 2);
}

TEST_CASE("a refresh repeats while master") {
    announce_spec s;
    s.master_repeat = 1;
    s.master_delay = 0ms;
    s.master_refresh = 100ms;
    s.master_refresh_repeat = 2;
    auto sent = rounds_during(s, 550ms);
    // 1 at once, then 2 at about 100, 200, 300, 400 and 500 ms.
    CHECK(sent.size() >= 9);
    CHECK(sent.size() <= 11);
}

TEST_CASE("stop ends the schedule at once") {
    announce_spec s;
    s.master_repeat = 1;
    s.master_delay = 0ms;
    s.master_refresh = 50ms;
    auto sent = rounds_during(s, 600ms, [](announcer& a) {
        CHECK(a.running());
        a.stop();
        CHECK_FALSE(a.running());
    });
    CHECK(sent.size() >= 4);
    CHECK(sent.back() < 320ms);
}
