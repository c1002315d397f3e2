#include "checkers/http_response_parser.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace vigil::checkers;
using outcome = http_response_parser::outcome;

namespace {

struct collected_body final : http_body_sink {
    std::string bytes;
    std::size_t limit = 1 << 20;
    bool on_body(std::string_view piece) override {
        auto room = limit - bytes.size();
        bytes.append(piece.substr(0, room));
        return piece.size() < room;
    }
};

struct parsed {
    outcome result;
    unsigned status;
    std::string body;
    bool keep_alive;
    std::string error;
};

// Feeds `response` in pieces of `step` bytes (0: all at once), then the end of the stream if the
// parser still wants more and `close` says the server closed.
parsed parse(std::string_view response, std::size_t step = 0, bool close = true, bool head = false,
             std::size_t limit = 1 << 20) {
    http_response_parser parser;
    parser.reset(head);
    collected_body body;
    body.limit = limit;
    auto result = outcome::need_more;
    if (step == 0) {
        result = parser.feed(response, body);
    } else {
        for (std::size_t at = 0; at < response.size() && result == outcome::need_more; at += step) {
            result = parser.feed(response.substr(at, step), body);
        }
    }
    if (result == outcome::need_more && close) {
        result = parser.end_of_stream();
    }
    return parsed{result, parser.status(), body.bytes, parser.keep_alive(),
                  std::string(parser.error())};
}

}  // namespace

TEST_CASE("a Content-Length body is read to its length, in any split") {
    std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    for (std::size_t step : {0UL, 1UL, 2UL, 7UL, 100UL}) {
        auto p = parse(r, step, false);
        CHECK(p.result == outcome::complete);
        CHECK(p.status == 200);
        CHECK(p.body == "hello");
        CHECK(p.keep_alive);
    }
}

TEST_CASE("a chunked body is decoded without its framing, extensions and trailers") {
    std::string r =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\n";
    for (std::size_t step : {0UL, 1UL, 3UL, 11UL}) {
        auto p = parse(r, step, false);
        CHECK(p.result == outcome::complete);
        CHECK(p.body == "hello 0123456789");
        CHECK(p.keep_alive);
    }
}

TEST_CASE("without a length the body runs to the end of the connection") {
    auto p = parse("HTTP/1.0 200 OK\r\n\r\nall of it");
    CHECK(p.result == outcome::complete);
    CHECK(p.body == "all of it");
    CHECK_FALSE(p.keep_alive);
}

TEST_CASE("Connection: close and HTTP/1.0 without keep-alive end the connection") {
    CHECK_FALSE(
        parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keep_alive);
    CHECK_FALSE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
    CHECK(
        parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").keep_alive);
}

TEST_CASE("a response to HEAD has no body whatever Content-Length announces") {
    auto p = parse("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n", 0, false, true);
    CHECK(p.result == outcome::complete);
    CHECK(p.body.empty());
}

TEST_CASE("204 and 304 have no body") {
    CHECK(parse("HTTP/1.1 204 No Content\r\n\r\n", 0, false).result == outcome::complete);
    CHECK(parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 0, false).result ==
          outcome::complete);
}

TEST_CASE("an interim 100 Continue is skipped for the response that follows") {
    auto p = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 1\r\n\r\nx",
                   1, false);
    CHECK(p.result == outcome::complete);
    CHECK(p.status == 503);
    CHECK(p.body == "x");
}

TEST_CASE("bare LF line ends are accepted") {
    auto p = parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, false);
    CHECK(p.result == outcome::complete);
    CHECK(p.body == "ok");
}

TEST_CASE("bytes that are not HTTP fail at once, before any line end") {
    auto p = parse("\x16\x03garbage", 0, false);
    CHECK(p.result == outcome::invalid);
    CHECK(p.error.starts_with("invalid HTTP response"));
    CHECK(parse("HTTP/1.1 2x0 OK\r\n\r\n").result == outcome::invalid);
    CHECK(parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").result == outcome::invalid);
}

TEST_CASE("a closed connection before any byte is an empty reply") {
    auto p = parse("");
    CHECK(p.result == outcome::invalid);
    CHECK(p.error == "empty reply");
}

TEST_CASE("a body shorter than announced is cut short") {
    auto p = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    CHECK(p.result == outcome::invalid);
    CHECK(p.error == "body cut short");
    CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").error ==
          "body cut short");
}

TEST_CASE("conflicting Content-Lengths and malformed chunk sizes are invalid") {
    CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").result ==
          outcome::invalid);
    CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").result ==
          outcome::invalid);
    CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n")
              .result == outcome::invalid);
}

TEST_CASE("headers beyond the limit fail instead of growing without bound") {
    std::string r = "HTTP/1.1 200 OK\r\n";
    while (r.size() < 20000) {
        r += "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    }
    auto p = parse(r, 1000, false);
    CHECK(p.result == outcome::invalid);
    CHECK(p.error == "invalid HTTP response: headers too long");
}

TEST_CASE("the body sink stops a chunked body of any length at its limit") {
    std::string r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 100; ++i) {
        r += "400\r\n" + std::string(1024, 'y') + "\r\n";
    }
    auto p = parse(r, 4096, false, false, 64);
    CHECK(p.result == outcome::complete);
    CHECK(p.body.size() == 64);
    CHECK_FALSE(p.keep_alive);
}

TEST_CASE("a reset parser reads the next response on the same connection") {
    http_response_parser parser;
    collected_body body;
    parser.reset(false);
    CHECK(parser.feed("HTTP/1.1 503 x\r\nContent-Length: 0\r\n\r\n", body) == outcome::complete);
    parser.reset(false);
    CHECK(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", body) == outcome::complete);
    CHECK(parser.status() == 200);
    CHECK(body.bytes == "ok");
}
