#include "base/address.hpp"

#include <doctest/doctest.h>

using namespace vigil;

TEST_CASE("endpoints parse IPv4 as address:port and IPv6 in brackets") {
    auto v4 = parse_endpoint("192.0.2.10:80");
    REQUIRE(v4);
    CHECK(v4->port == 80);
    CHECK(v4->family() == address_family::ipv4);
    CHECK(to_string(*v4) == "192.0.2.10:80");

    auto v6 = parse_endpoint("[fd00::5]:8443");
    REQUIRE(v6);
    CHECK(v6->family() == address_family::ipv6);
    CHECK(to_string(*v6) == "[fd00::5]:8443");
}

TEST_CASE("malformed endpoints are refused with a reason") {
    CHECK(parse_endpoint("192.0.2.10").error().find("needs a port") != std::string::npos);
    CHECK(parse_endpoint("fd00::5:80").error().find("without brackets") != std::string::npos);
    CHECK(parse_endpoint("[fd00::5]80").error().find("needs a port") != std::string::npos);
    CHECK(parse_endpoint("[192.0.2.1]:80").error().find("IPv6") != std::string::npos);
    CHECK(parse_endpoint("192.0.2.10:65536").error().find("invalid port") != std::string::npos);
    CHECK(parse_endpoint("192.0.2.10:+80").error().find("invalid port") != std::string::npos);
    CHECK(parse_endpoint("192.0.2.10:").error().find("invalid port") != std::string::npos);
    CHECK_FALSE(parse_endpoint("300.0.2.10:80"));
    CHECK_FALSE(parse_endpoint(" 192.0.2.10:80"));
    CHECK_FALSE(parse_endpoint("[fe80::1%eth0]:80"));
}

TEST_CASE("a prefix without a length is a host prefix") {
    auto v4 = parse_prefix("192.168.1.200");
    REQUIRE(v4);
    CHECK(v4->length == 32);
    auto v6 = parse_prefix("fd00:99::100");
    REQUIRE(v6);
    CHECK(v6->length == 128);
    auto with = parse_prefix("192.168.1.200/24");
    REQUIRE(with);
    CHECK(with->length == 24);
    CHECK(to_string(*with) == "192.168.1.200/24");
}

TEST_CASE("prefix lengths beyond the family's width are refused") {
    CHECK_FALSE(parse_prefix("192.168.1.200/33"));
    CHECK(parse_prefix("fd00::1/128"));
    CHECK_FALSE(parse_prefix("fd00::1/129"));
    CHECK_FALSE(parse_prefix("192.168.1.200/"));
    CHECK_FALSE(parse_prefix("192.168.1.200/2x"));
}

TEST_CASE("endpoints order by address then port") {
    auto a = *parse_endpoint("10.0.0.1:80");
    auto b = *parse_endpoint("10.0.0.1:81");
    auto c = *parse_endpoint("10.0.0.2:1");
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a == *parse_endpoint("10.0.0.1:80"));
}
