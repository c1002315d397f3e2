#include "checkers/udp_probe.hpp"

#include <doctest/doctest.h>

using namespace vigil::checkers;

TEST_CASE("hex payloads read with or without separators, and refuse stray characters") {
    auto b = parse_hex_bytes("0a 0B:ff00");
    REQUIRE(b);
    CHECK(*b == std::vector<std::uint8_t>{0x0a, 0x0b, 0xff, 0x00});
    CHECK(parse_hex_bytes("abc").error() == "has an odd number of hex digits");
    CHECK(parse_hex_bytes("a bc").error() == "splits a byte's two hex digits");
    CHECK(parse_hex_bytes("zz").error() == "has 'z', not a hex digit");
    CHECK(parse_hex_bytes("")->empty());
}

TEST_CASE("a UDP reply must contain the expected bytes and match the regex") {
    udp_spec any;
    CHECK(udp_reply_check(any).judge("") == "");
    udp_spec bytes;
    bytes.expect = std::string("\x00\x01", 2);
    CHECK(udp_reply_check(bytes).judge(std::string("x\x00\x01y", 4)) == "");
    CHECK(udp_reply_check(bytes).judge("x") == "reply mismatch");
    udp_spec regex;
    regex.expect_regex = "^PONG [0-9]+$";
    CHECK(udp_reply_check(regex).judge("PONG 42") == "");
    CHECK(udp_reply_check(regex).judge("PING 42") == "reply mismatch");
    udp_spec broken;
    broken.expect_regex = "(";
    CHECK(udp_reply_check(broken).judge("(").rfind("invalid expect_regex", 0) == 0);
}
