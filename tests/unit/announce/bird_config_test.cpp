#include "announce/bird_config.hpp"

#include <doctest/doctest.h>

#include "announce/announcement.hpp"

using namespace vigil;
using namespace vigil::announce;

namespace {

announcement_spec spec(const char* name, const char* prefix) {
    announcement_spec s;
    s.protocol = protocol_name(name);
    s.prefix = *parse_prefix(prefix);
    s.virtual_servers = {name};
    return s;
}

}  // namespace

TEST_CASE("an announced prefix is an enabled static protocol routed via the liveness link") {
    auto web = spec("web", "10.98.100.1/32");
    community standard{65001, 100, 0, false};
    community large{65001, 1, 2, true};
    web.communities = {standard, large};
    auto text = render_bird_config({{&web, true, 20}}, "vigil-live");
    CHECK(text.find("protocol static vigil_web {\n    ipv4;\n    route 10.98.100.1/32 via "
                    "\"vigil-live\" {\n        bgp_med = 20;\n        "
                    "bgp_community.add((65001, 100));\n        "
                    "bgp_large_community.add((65001, 1, 2));\n    };\n}\n") != std::string::npos);
    CHECK(text.find("disabled") == std::string::npos);
}

TEST_CASE("a withdrawn prefix keeps its protocol, disabled") {
    auto web = spec("web", "10.98.100.1/32");
    auto text = render_bird_config({{&web, false, 0}}, "vigil-live");
    CHECK(text.find("protocol static vigil_web {\n    ipv4;\n    disabled yes;\n") !=
          std::string::npos);
}

TEST_CASE("an IPv6 prefix gets an ipv6 channel") {
    auto v6 = spec("web6", "2001:db8::1/128");
    auto text = render_bird_config({{&v6, true, 0}}, "live0");
    CHECK(text.find("    ipv6;\n    route 2001:db8::1/128 via \"live0\"") != std::string::npos);
}

TEST_CASE("the same routes render the same bytes, and no routes leave only the comment") {
    auto a = spec("a", "10.0.0.1/32");
    auto b = spec("b", "10.0.0.2/32");
    CHECK(render_bird_config({{&a, true, 1}, {&b, false, 2}}, "x") ==
          render_bird_config({{&a, true, 1}, {&b, false, 2}}, "x"));
    auto empty = render_bird_config({}, "x");
    CHECK(empty.find("protocol") == std::string::npos);
    CHECK(empty.starts_with("# "));
}

TEST_CASE("protocol names keep only what a BIRD symbol may hold") {
    CHECK(protocol_name("web-1.prod") == "vigil_web_1_prod");
    CHECK(protocol_name("Web_2") == "vigil_Web_2");
}

TEST_CASE("communities parse as a:b (16-bit) or a:b:c (32-bit) and nothing else") {
    community c;
    REQUIRE(parse_community("65001:100", c));
    CHECK(c == community{65001, 100, 0, false});
    REQUIRE(parse_community("4200000000:1:2", c));
    CHECK(c == community{4200000000u, 1, 2, true});
    CHECK(to_string(c) == "4200000000:1:2");
    for (const char* bad : {"", "1", "1:", ":1", "65536:1", "1:65536", "1:2:3:4", "a:b", "1 :2",
                            "-1:2", "1:2:4294967296", "1::2"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_community(bad, c));
    }
}

TEST_CASE("prefix containment and network form") {
    CHECK(prefix_contains(*parse_prefix("10.1.0.0/24"), *parse_address("10.1.0.77")));
    CHECK_FALSE(prefix_contains(*parse_prefix("10.1.0.0/24"), *parse_address("10.1.1.1")));
    CHECK(prefix_contains(*parse_prefix("10.1.0.1/32"), *parse_address("10.1.0.1")));
    CHECK_FALSE(prefix_contains(*parse_prefix("2001:db8::/32"), *parse_address("10.1.0.1")));
    CHECK(prefix_contains(*parse_prefix("2001:db8::/32"), *parse_address("2001:db8:5::1")));
    CHECK(prefix_contains(*parse_prefix("0.0.0.0/0"), *parse_address("192.0.2.1")));
    CHECK(is_network(*parse_prefix("10.1.0.0/23")));
    CHECK_FALSE(is_network(*parse_prefix("10.1.1.0/23")));
    CHECK(is_network(*parse_prefix("2001:db8::1/128")));
    CHECK_FALSE(is_network(*parse_prefix("2001:db8::1/64")));
}
