#include "checkers/icmp_echo.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace vigil::checkers;

namespace {
using bytes = std::vector<std::uint8_t>;
}

TEST_CASE("the Internet checksum of RFC 1071's example, and of odd lengths") {
    bytes example{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK(internet_checksum(example) == static_cast<std::uint16_t>(~0xddf2 & 0xffff));
    bytes odd{0x01};
    CHECK(internet_checksum(odd) == 0xfeff);
}

TEST_CASE("an IPv4 echo request carries type 8, id, sequence, payload and a valid checksum") {
    bytes payload{'h', 'i'};
    auto request = encode_echo_request(icmp_version::v4, 0x1234, 0x0102, payload);
    REQUIRE(request.size() == 10);
    CHECK(request[0] == 8);
    CHECK(request[1] == 0);
    CHECK(request[4] == 0x12);
    CHECK(request[5] == 0x34);
    CHECK(request[6] == 0x01);
    CHECK(request[7] == 0x02);
    CHECK(internet_checksum(request) == 0);
}

TEST_CASE("an ICMPv6 echo request is type 128 and leaves the checksum to the kernel") {
    auto request = encode_echo_request(icmp_version::v6, 7, 9, {});
    CHECK(request == bytes{128, 0, 0, 0, 0, 7, 0, 9});
}

TEST_CASE("echo replies decode; requests, errors and bad checksums do not") {
    auto reply = encode_echo_request(icmp_version::v4, 0xabcd, 42, bytes{1, 2, 3});
    reply[0] = 0;  // echo reply: fix the checksum the type change broke
    reply[2] = reply[3] = 0;
    auto sum = internet_checksum(reply);
    reply[2] = static_cast<std::uint8_t>(sum >> 8);
    reply[3] = static_cast<std::uint8_t>(sum & 0xff);
    auto decoded = decode_echo_reply(icmp_version::v4, reply, false);
    REQUIRE(decoded);
    CHECK(decoded->id == 0xabcd);
    CHECK(decoded->sequence == 42);

    auto corrupted = reply;
    corrupted.back() ^= 0xff;
    CHECK_FALSE(decode_echo_reply(icmp_version::v4, corrupted, false));
    auto request = encode_echo_request(icmp_version::v4, 1, 1, {});
    CHECK_FALSE(decode_echo_reply(icmp_version::v4, request, false));
    bytes unreachable{3, 3, 0, 0, 0, 0, 0, 0};
    CHECK_FALSE(decode_echo_reply(icmp_version::v4, unreachable, false));
    CHECK_FALSE(decode_echo_reply(icmp_version::v4, bytes{0, 0, 0}, false));

    bytes v6_reply{129, 0, 0x55, 0x66, 0, 5, 0, 6};
    decoded = decode_echo_reply(icmp_version::v6, v6_reply, false);
    REQUIRE(decoded);
    CHECK(decoded->sequence == 6);
    CHECK_FALSE(decode_echo_reply(icmp_version::v6, bytes{128, 0, 0, 0, 0, 5, 0, 6}, false));
}

TEST_CASE("a raw IPv4 socket's IP header is skipped by its own length, options included") {
    auto reply = encode_echo_request(icmp_version::v4, 3, 4, {});
    reply[0] = 0;
    reply[2] = reply[3] = 0;
    auto sum = internet_checksum(reply);
    reply[2] = static_cast<std::uint8_t>(sum >> 8);
    reply[3] = static_cast<std::uint8_t>(sum & 0xff);
    bytes packet(24, 0);
    packet[0] = 0x46;  // version 4, 24-byte header (one option word)
    packet.insert(packet.end(), reply.begin(), reply.end());
    auto decoded = decode_echo_reply(icmp_version::v4, packet, true);
    REQUIRE(decoded);
    CHECK(decoded->sequence == 4);
    bytes short_header{0x4f, 0, 0, 0};
    CHECK_FALSE(decode_echo_reply(icmp_version::v4, short_header, true));
    bytes not_v4{0x65, 0, 0, 0};
    CHECK_FALSE(decode_echo_reply(icmp_version::v4, not_v4, true));
}
