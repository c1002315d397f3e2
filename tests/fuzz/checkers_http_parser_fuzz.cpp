// libFuzzer target for the HTTP/1.x response parser the http check feeds with what a server
// sends. Beyond "does not crash":
//   - the verdict does not depend on how the bytes were split into reads: fed whole, one byte at
//     a time, or in pieces of the size byte 1 picks, the outcome, status, body, keep-alive and
//     error agree;
//   - the body handed on is never longer than the sink's limit nor than what was received;
//   - once complete or invalid, the parser stays so whatever follows.
//
// Input layout: byte 0 flags (bit 0 HEAD, bit 1 end of stream after the bytes), byte 1 the piece
// size, byte 2 the body limit, then the response bytes.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "checkers/http_response_parser.hpp"

using namespace vigil::checkers;
using outcome = http_response_parser::outcome;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

struct limited_body final : http_body_sink {
    std::string bytes;
    std::size_t limit = 0;
    bool on_body(std::string_view piece) override {
        auto room = limit - bytes.size();
        bytes.append(piece.substr(0, room));
        return piece.size() < room;
    }
};

struct run_result {
    outcome result;
    unsigned status;
    std::string body;
    bool keep_alive;
    std::string error;
    bool operator==(const run_result&) const = default;
};

run_result run(std::string_view response, std::size_t step, bool head, bool close,
               std::size_t limit) {
    http_response_parser parser(512);
    parser.reset(head);
    limited_body body;
    body.limit = limit;
    auto result = outcome::need_more;
    for (std::size_t at = 0; at < response.size(); at += step) {
        auto before = result;
        result = parser.feed(response.substr(at, step), body);
        if (before != outcome::need_more && result != before) {
            fail("a finished parser changed its outcome");
        }
    }
    if (close) {
        result = parser.end_of_stream();
    }
    if (body.bytes.size() > limit || body.bytes.size() > response.size()) {
        fail("more body than allowed or received");
    }
    return run_result{result, parser.status(), body.bytes, parser.keep_alive(),
                      std::string(parser.error())};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) {
        return 0;
    }
    bool head = (data[0] & 1) != 0;
    bool close = (data[0] & 2) != 0;
    std::size_t step = data[1] == 0 ? 1 : data[1];
    std::size_t limit = data[2] + 1U;
    std::string_view response(reinterpret_cast<const char*>(data + 3), size - 3);
    auto whole = run(response, response.empty() ? 1 : response.size(), head, close, limit);
    if (!(run(response, 1, head, close, limit) == whole)) {
        fail("byte-at-a-time feeding disagrees with feeding it whole");
    }
    if (!(run(response, step, head, close, limit) == whole)) {
        fail("piecewise feeding disagrees with feeding it whole");
    }
    return 0;
}
