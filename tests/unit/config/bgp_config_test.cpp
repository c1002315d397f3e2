#include <doctest/doctest.h>

#include <string>

#include "config/loader.hpp"

using namespace vigil;
using namespace vigil::config;
using namespace std::chrono_literals;

namespace {

std::string source_file(const char* relative) {
    return std::string(VIGIL_SOURCE_DIR) + "/" + relative;
}

}  // namespace

TEST_CASE("the BGP example loads with its announcement and [global.bgp] settings") {
    auto result = load_configuration(source_file("etc/bgp/vigil.toml"));
    REQUIRE(result.config);
    const auto& config = *result.config;
    CHECK(config.global.bgp.bird_socket == "/run/bird/bird.ctl");
    CHECK(config.global.bgp.include_file == "/run/vigil-bird/vigil.conf");
    CHECK(config.global.bgp.liveness_interface == "vigil-live");
    CHECK(config.global.bgp.vip_interface == "lo");
    CHECK(config.global.bgp.hold_down == 10s);
    CHECK(config.global.bgp.drain_wait == 5s);
    REQUIRE(config.virtual_servers.size() == 1);
    const auto& announce = config.virtual_servers[0].announce;
    REQUIRE(announce);
    // The prefix defaults to the virtual server's address as a host route.
    CHECK(to_string(announce->prefix) == "10.98.100.1/32");
    CHECK(announce->med == 10);
    CHECK(announce->med_per_down_server == 5);
    REQUIRE(announce->communities.size() == 1);
    CHECK(announce->communities[0] == announce::community{65001, 100, 0, false});
}

TEST_CASE("a virtual server without announce has none, and [global.bgp] keeps its defaults") {
    auto result = load_configuration(source_file("etc/vigil/vigil.toml"));
    REQUIRE(result.config);
    for (const auto& vs : result.config->virtual_servers) {
        CHECK_FALSE(vs.announce);
    }
    CHECK(result.config->global.bgp == bgp_settings{});
}
