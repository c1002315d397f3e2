#include "announce/bird_reply.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace vigil::announce;

namespace {

std::vector<bird_reply> all(bird_reply_parser& parser) {
    std::vector<bird_reply> replies;
    while (auto r = parser.next()) {
        replies.push_back(std::move(*r));
    }
    return replies;
}

// Real bytes from BIRD 2.0.12's control socket.
const std::string banner = "0001 BIRD 2.0.12 ready.\n";
const std::string reconfigured =
    "0002-Reading configuration from /etc/bird/bird.conf\n"
    "0003 Reconfigured\n";
const std::string protocols =
    "2002-Name       Proto      Table      State  Since         Info\n"
    "1002-device1    Device     ---        up     01:19:23.302  \n"
    " bfd1       BFD        ---        up     01:19:23.302  \n"
    " vigil_web  Static     master4    up     01:19:38.830  \n"
    " r          BGP        ---        up     01:19:27.793  Established   \n"
    "0000 \n";
const std::string rejected =
    "0002-Reading configuration from d1.conf\n"
    "8002 /run/vigil/bird/vigil.conf:1:1 syntax error, unexpected "
    "PROTOCOL\n";

}  // namespace

TEST_CASE("the banner, a configure and a show protocols reply split into three replies") {
    bird_reply_parser parser;
    parser.feed(banner + reconfigured + protocols);
    auto replies = all(parser);
    REQUIRE(replies.size() == 3);
    CHECK(replies[0].code == 1);
    CHECK(replies[0].message() == "BIRD 2.0.12 ready.");
    CHECK(replies[1].code == 3);
    CHECK(replies[1].ok());
    CHECK(replies[1].lines.size() == 2);
    CHECK(replies[2].code == 0);
    auto rows = parse_show_protocols(replies[2]);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0].name == "device1");
    CHECK(rows[2].name == "vigil_web");
    CHECK(rows[2].protocol == "Static");
    CHECK(rows[2].state == "up");
    CHECK(rows[3].info == "Established");
    CHECK(rows[0].info.empty());
}

TEST_CASE("continuation lines without a code carry the previous line's code") {
    bird_reply_parser parser;
    parser.feed(protocols);
    auto r = parser.next();
    REQUIRE(r);
    CHECK(r->lines[2].code == 1002);
    CHECK(r->lines[2].text.starts_with("bfd1"));
}

TEST_CASE("8xxx and 9xxx replies are errors with their message") {
    bird_reply_parser parser;
    parser.feed(rejected + "9001 syntax error, unexpected CF_SYM_UNDEFINED\n");
    auto replies = all(parser);
    REQUIRE(replies.size() == 2);
    CHECK_FALSE(replies[0].ok());
    CHECK(replies[0].code == 8002);
    CHECK(replies[0].message().find("syntax error") != std::string::npos);
    CHECK_FALSE(replies[1].ok());
}

TEST_CASE("a reply fed one byte at a time (a slow peer) parses the same") {
    bird_reply_parser parser;
    auto bytes = banner + protocols;
    std::vector<bird_reply> replies;
    for (char c : bytes) {
        parser.feed(std::string_view(&c, 1));
        while (auto r = parser.next()) {
            replies.push_back(std::move(*r));
        }
    }
    REQUIRE(replies.size() == 2);
    CHECK(parse_show_protocols(replies[1]).size() == 4);
    CHECK_FALSE(parser.failure());
}

TEST_CASE("a reply not yet ended is not handed out") {
    bird_reply_parser parser;
    parser.feed("0002-Reading configuration\n0003 Reconfig");
    CHECK_FALSE(parser.next());
    parser.feed("ured\n");
    auto r = parser.next();
    REQUIRE(r);
    CHECK(r->message() == "Reconfigured");
}

TEST_CASE("garbage fails the stream and nothing after it is parsed") {
    for (const char* garbage : {"hello\n", "12\n", "123x text\n", "0001text\n", "\n",
                                " continuation first\n", "00a1 x\n"}) {
        CAPTURE(garbage);
        bird_reply_parser parser;
        parser.feed(garbage);
        parser.feed(banner);
        CHECK(parser.failure());
        CHECK_FALSE(parser.next());
    }
}

TEST_CASE("binary noise never crashes the parser and ends failed") {
    std::string noise;
    std::uint32_t x = 12345;
    for (int i = 0; i < 100000; ++i) {
        x = x * 1103515245u + 12345u;
        noise.push_back(static_cast<char>(x >> 24));
    }
    bird_reply_parser parser;
    parser.feed(noise);
    while (parser.next()) {
    }
    CHECK(parser.failure());
}

TEST_CASE("a line longer than the limit fails, even when it arrives in pieces") {
    bird_reply_parser parser(1024, 1 << 20);
    std::string chunk(300, 'x');
    parser.feed("1002-");
    for (int i = 0; i < 4 && !parser.failure(); ++i) {
        parser.feed(chunk);
    }
    CHECK(parser.failure());
    CHECK(parser.failure()->find("line longer") != std::string::npos);
}

TEST_CASE("a reply longer than the limit fails instead of growing without end") {
    bird_reply_parser parser(1024, 64 * 1024);
    std::string line = "1002-" + std::string(100, 'y') + "\n";
    for (int i = 0; i < 1000 && !parser.failure(); ++i) {
        parser.feed(line);
    }
    CHECK(parser.failure());
    CHECK(parser.failure()->find("reply longer") != std::string::npos);
    CHECK_FALSE(parser.next());
}
