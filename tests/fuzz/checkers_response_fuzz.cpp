// libFuzzer target for what the checkers parse: the status and digest expectations an operator
// writes, and the response bodies and TCP answers servers send. Beyond "does not crash":
//   - an accepted status range lies within 100-599 and prints back to what parses to it;
//   - an accepted digest prints back (lower-case) to text that parses to the same digest;
//   - response_check never keeps more than body_limit bytes, says "stop" exactly when the limit
//     is crossed, and its verdict never throws, whatever the regex and the body;
//   - a TCP expect that matches is really contained in what was received.
//
// Input layout: byte 0 picks the part, the rest is its text (for response_check: byte 1 the body
// limit, byte 2 the regex length, then the regex, then the body split at byte values 0xff).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "checkers/http_expectation.hpp"
#include "checkers/response_check.hpp"
#include "checkers/tcp_probe.hpp"

using namespace vigil::checkers;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

void status_part(std::string_view text) {
    auto range = parse_status_range(text);
    if (!range) {
        return;
    }
    if (range->first < 100 || range->last > 599 || range->first > range->last) {
        fail("status range out of bounds");
    }
    status_set set{{*range}};
    auto again = parse_status_range(set.to_string());
    if (!again || !(*again == *range)) {
        fail("status range does not round-trip");
    }
    if (!set.contains(range->first) || !set.contains(range->last) || set.contains(99) ||
        set.contains(600)) {
        fail("status set membership");
    }
}

void digest_part(std::string_view text) {
    auto digest = parse_body_digest(text);
    if (!digest) {
        return;
    }
    auto expected = digest->algo == body_digest::algorithm::md5 ? 16u : 32u;
    if (digest->bytes.size() != expected) {
        fail("digest length");
    }
    auto again = parse_body_digest(to_string(*digest));
    if (!again || !(*again == *digest)) {
        fail("digest does not round-trip");
    }
}

void response_part(std::string_view data) {
    if (data.size() < 2) {
        return;
    }
    http_spec options;
    options.body_limit = static_cast<unsigned char>(data[0]) + 1u;
    std::size_t regex_length =
        std::min<std::size_t>(static_cast<unsigned char>(data[1]) % 16, data.size() - 2);
    if (regex_length > 0) {
        options.body_regex = std::string(data.substr(2, regex_length));
    }
    if (data.size() % 3 == 0) {
        options.digest = digest_of(body_digest::algorithm::sha256, "x");
    }
    auto body = data.substr(2 + regex_length);
    response_check judge(options);
    judge.reset();
    std::size_t fed = 0;
    bool stopped = false;
    while (!body.empty() && !stopped) {
        auto cut = body.find('\xff');
        auto chunk = body.substr(0, cut);
        fed += chunk.size();
        stopped = !judge.feed(chunk);
        body = cut == std::string_view::npos ? std::string_view{} : body.substr(cut + 1);
    }
    if (judge.body_bytes() > options.body_limit) {
        fail("kept more than the body limit");
    }
    if (stopped != (fed > options.body_limit)) {
        fail("stop signal does not match the limit");
    }
    auto verdict = judge.verdict(static_cast<unsigned>(200 + data.size() % 400));
    if (verdict.reason.empty()) {
        fail("a verdict without a reason");
    }
}

void expect_part(std::string_view data) {
    auto split = data.find('\n');
    if (split == std::string_view::npos) {
        return;
    }
    auto expect = data.substr(0, split);
    auto received = data.substr(split + 1);
    auto state = match_expect(received, expect, data.size() % 2 == 0, 64);
    if (state == expect_state::matched && received.find(expect) == std::string_view::npos) {
        fail("matched without the expected text");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0:
            status_part(text);
            break;
        case 1:
            digest_part(text);
            break;
        case 2:
            response_part(text);
            break;
        case 3:
            expect_part(text);
            break;
    }
    return 0;
}
