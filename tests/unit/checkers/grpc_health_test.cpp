#include "checkers/grpc_health.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace vigil::checkers;
using namespace std::string_literals;

namespace {

// A framed HealthCheckResponse with this ServingStatus.
std::string framed(const std::string& message) {
    std::string out = "\0\0\0\0"s;
    out += static_cast<char>(message.size());
    return out + message;
}

grpc_health_call answered(const std::string& body, const std::string& status = "0") {
    grpc_health_call call;
    call.feed_header("HTTP/2 200\r\n");
    call.feed_header("content-type: application/grpc\r\n");
    call.feed_body(body);
    call.feed_header("Grpc-Status: " + status + "\r\n");
    return call;
}

}  // namespace

TEST_CASE("grpc: the health request is one framed message with the service as field 1") {
    CHECK(encode_grpc_health_request("") == "\0\0\0\0\0"s);
    CHECK(encode_grpc_health_request("web") == "\0\0\0\0\x05\x0a\x03web"s);
    std::string long_name(200, 'a');
    auto request = encode_grpc_health_request(long_name);
    // 200 needs a two-byte varint: 0xc8 0x01.
    CHECK(request.substr(0, 8) == "\0\0\0\0\xcb\x0a\xc8\x01"s);
    CHECK(request.size() == 5 + 3 + 200);
}

TEST_CASE("grpc: the response's status is field 1; others are skipped, absent means UNKNOWN") {
    CHECK(*decode_grpc_health_response("\x08\x01"s) == 1);
    CHECK(*decode_grpc_health_response(""s) == 0);
    // Unknown varint, fixed64, length-delimited and fixed32 fields around it; the last wins.
    CHECK(*decode_grpc_health_response("\x10\x05\x08\x02\x19"
                                       "12345678"
                                       "\x22\x02xy\x2d"
                                       "abcd"
                                       "\x08\x01"s) == 1);
    CHECK(decode_grpc_health_response("\x08"s).error() ==
          "gRPC health response has a broken varint");
    CHECK(decode_grpc_health_response("\x0a\x01x"s).error() ==
          "gRPC health response's status is not a varint");
    CHECK(decode_grpc_health_response("\x22\x05xy"s).error() ==
          "gRPC health response is cut short");
    CHECK(decode_grpc_health_response("\x13"s).error() == "gRPC health response has wire type 3");
    CHECK(
        decode_grpc_health_response("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s).error() ==
        "gRPC health response has a broken varint");
    CHECK(decode_grpc_health_response("\x00\x01"s).error() ==
          "gRPC health response has field number 0");
}

TEST_CASE("grpc: healthy only on HTTP 200, grpc-status 0 and SERVING") {
    CHECK(answered(framed("\x08\x01")).verdict(200).success);
    CHECK(answered(framed("\x08\x02")).verdict(200).reason == "gRPC health NOT_SERVING");
    CHECK(answered(framed("")).verdict(200).reason == "gRPC health UNKNOWN");
    CHECK(answered(framed("\x08\x03")).verdict(200).reason == "gRPC health SERVICE_UNKNOWN");
    CHECK(answered(framed("\x08\x07")).verdict(200).reason == "gRPC health status 7");
    CHECK(answered(framed("\x08\x01")).verdict(404).reason == "HTTP status 404 to the gRPC call");
}

TEST_CASE("grpc: a non-zero grpc-status fails with its name and message, trailers-only too") {
    grpc_health_call call;
    call.feed_header("HTTP/2 200\r\n");
    call.feed_header("grpc-status: 5\r\n");
    call.feed_header("grpc-message: unknown%20service%0a\r\n");
    CHECK(call.verdict(200).reason == "gRPC status NOT_FOUND: unknown service?");
    CHECK(answered(framed("\x08\x01"), "12").verdict(200).reason == "gRPC status UNIMPLEMENTED");
    CHECK(answered(framed("\x08\x01"), "99").verdict(200).reason == "gRPC status 99");
    CHECK(answered(framed("\x08\x01"), "x1").verdict(200).reason ==
          "gRPC grpc-status \"x1\" is not a number");
    grpc_health_call silent;
    silent.feed_body(framed("\x08\x01"));
    CHECK(silent.verdict(200).reason == "gRPC response without grpc-status");
}

TEST_CASE("grpc: framing errors, compression and oversized bodies fail") {
    CHECK(answered("").verdict(200).reason == "gRPC response has no message");
    CHECK(answered("\1\0\0\0\2\x08\x01"s).verdict(200).reason == "gRPC response is compressed");
    CHECK(answered("\7\0\0\0\2\x08\x01"s).verdict(200).reason ==
          "gRPC response has a bad frame flag");
    CHECK(answered("\0\0\0\0\3\x08\x01"s).verdict(200).reason ==
          "gRPC response message is cut short");
    CHECK(answered(framed("\x08\x01") + framed("\x08\x01")).verdict(200).reason ==
          "gRPC response holds more than one message");
    grpc_health_call flood;
    std::string chunk(300, 'x');
    int accepted = 0;
    while (flood.feed_body(chunk)) {
        ++accepted;
        REQUIRE(accepted < 10);
    }
    CHECK(accepted == 3);
    flood.feed_header("grpc-status: 0\r\n");
    CHECK(flood.verdict(200).reason == "gRPC response longer than 1024 bytes");
    // reset() forgets everything.
    flood.reset();
    flood.feed_body(framed("\x08\x01"));
    flood.feed_header("grpc-status: 0\r\n");
    CHECK(flood.verdict(200).success);
}
