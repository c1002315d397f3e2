// libFuzzer target for the two codecs that read what smtp and grpc checks' servers send. Beyond
// "does not crash or read out of bounds":
//   - the SMTP dialogue reaches the same verdict however the server's bytes are split, with and
//     without STARTTLS (the fuzzer plays a handshake that succeeds whenever one is asked for);
//   - with STARTTLS, the dialogue is never healthy unless the handshake happened, asks for it only
//     at the very end of the bytes it was given (nothing read in plaintext is left over to be
//     taken for a reply over TLS), and asks at most once;
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

// One dialogue fed as the shell feeds it, with a handshake that always succeeds, checking the
// STARTTLS properties at every step. `verdict` is the reason, "ok", or "" while undecided.
struct smtp_run {
    smtp_dialogue dialogue;
    bool starttls;
    bool tls = false;
    std::string verdict;

    explicit smtp_run(bool with_starttls)
        : dialogue("lb1.test", with_starttls), starttls(with_starttls) {}

    bool decided() const { return !verdict.empty(); }

    void take(smtp_dialogue::step s) {
        while (s.start_tls) {
            if (!starttls || tls) {
                fail("TLS asked for without STARTTLS, or twice");
            }
            if (s.verdict || !s.send.empty()) {
                fail("a TLS request came with bytes to send or a verdict");
            }
            tls = true;
            s = dialogue.on_tls_established();
        }
        if (s.verdict) {
            if (s.verdict->success && starttls && !tls) {
                fail("STARTTLS dialogue healthy without a handshake");
            }
            verdict = s.verdict->success ? "ok" : s.verdict->reason;
            if (verdict.empty()) {
                verdict = "(failure without a reason)";
            }
        }
    }

    void feed(std::string_view piece) {
        auto s = dialogue.on_data(piece);
        if (s.start_tls && (piece.empty() || piece.back() != '\n')) {
            fail("TLS asked for with plaintext left over");
        }
        take(std::move(s));
    }

    void end() {
        if (!decided()) {
            take(dialogue.on_eof());
        }
    }
};

// Runs the dialogue over `input` in pieces of `step` bytes; the verdict's reason, or "" if none.
std::string smtp_verdict(std::string_view input, std::size_t step, bool starttls) {
    smtp_run run(starttls);
    // A server's bytes arrive between our commands; feed each piece, as the shell does.
    for (std::size_t at = 0; at < input.size() && !run.decided(); at += step) {
        run.feed(input.substr(at, step));
    }
    run.end();
    return run.verdict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    // One piece per reply line is how a real server writes; the verdict must not depend on
    // where a line is cut, as long as whole replies are not run together.
    for (bool starttls : {false, true}) {
        smtp_run whole(starttls);
        smtp_run bytewise(starttls);
        std::size_t at = 0;
        while (at < input.size() && !whole.decided()) {
            auto end = input.find('\n', at);
            auto line = input.substr(at, end == std::string_view::npos ? end : end - at + 1);
            at += line.size();
            whole.feed(line);
            for (std::size_t i = 0; i < line.size() && !bytewise.decided(); ++i) {
                bytewise.feed(line.substr(i, 1));
            }
        }
        if (whole.verdict != bytewise.verdict || whole.tls != bytewise.tls) {
            fail("SMTP verdict depends on how a line is split");
        }
        smtp_verdict(input, 7, starttls);
    }

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
