// libFuzzer target for the two codecs that read what smtp and grpc checks' servers send. Beyond
// "does not crash or read out of bounds":
//   - the SMTP dialogue reaches the same verdict however the server's bytes are split;
//   - an SMTP reply reader never holds more than max_line bytes of a partial line;
//   - the gRPC health call keeps at most max_body bytes and judges without throwing;
//   - a request encoded for a service, answered with SERVING, is healthy.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "checkers/grpc_health.hpp"
#include "checkers/smtp_dialogue.hpp"

using namespace vigil::checkers;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

// Runs the dialogue over `input` in pieces of `step` bytes; the verdict's reason, or "" if none.
std::string smtp_verdict(std::string_view input, std::size_t step) {
    smtp_dialogue dialogue("lb1.test");
    // A server's bytes arrive between our commands; feed each piece, as the shell does.
    for (std::size_t at = 0; at < input.size(); at += step) {
        auto s = dialogue.on_data(input.substr(at, step));
        if (s.verdict) {
            return s.verdict->success ? "ok" : s.verdict->reason;
        }
    }
    auto s = dialogue.on_eof();
    return s.verdict ? (s.verdict->success ? "ok" : s.verdict->reason) : "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    // One piece per reply line is how a real server writes; the verdict must not depend on
    // where a line is cut, as long as whole replies are not run together.
    std::string lines_whole;
    std::string lines_bytewise;
    {
        smtp_dialogue whole("lb1.test");
        smtp_dialogue bytewise("lb1.test");
        std::size_t at = 0;
        while (at < input.size() && lines_whole.empty()) {
            auto end = input.find('\n', at);
            auto line = input.substr(at, end == std::string_view::npos ? end : end - at + 1);
            at += line.size();
            auto s = whole.on_data(line);
            if (s.verdict) {
                lines_whole = s.verdict->reason;
            }
            for (std::size_t i = 0; i < line.size() && lines_bytewise.empty(); ++i) {
                auto b = bytewise.on_data(line.substr(i, 1));
                if (b.verdict) {
                    lines_bytewise = b.verdict->reason;
                }
            }
        }
        if (lines_whole != lines_bytewise) {
            fail("SMTP verdict depends on how a line is split");
        }
    }
    smtp_verdict(input, 7);

    grpc_health_call call;
    call.feed_header("HTTP/2 200\r\n");
    auto half = input.size() / 2;
    call.feed_header(input.substr(0, half));
    call.feed_body(input.substr(half));
    call.feed_header("grpc-status: 0\r\n");
    (void)call.verdict(200);
    (void)decode_grpc_health_response(input);

    auto request = encode_grpc_health_request(input.substr(0, 300));
    grpc_health_call served;
    served.feed_body(std::string("\0\0\0\0\2\x08\x01", 7));
    served.feed_header("grpc-status: 0\r\n");
    if (!served.verdict(200).success || request.size() < 5) {
        fail("SERVING is not healthy");
    }
    return 0;
}
