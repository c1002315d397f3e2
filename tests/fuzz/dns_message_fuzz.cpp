// libFuzzer target for the DNS codec the dns check reads servers' answers with. Beyond "does not
// crash or read out of bounds":
//   - a decoded response's names are at most 253 characters and lower case;
//   - a truncated response carries no answer records;
//   - judging a decoded response never throws, whatever it holds;
//   - when the input, read as text, is a valid name, the query encoded for it, turned into a
//     response by setting QR, decodes back to that name and type.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "checkers/dns_message.hpp"

using namespace vigil::checkers;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

void check_name(const std::string& name) {
    if (name.size() > 253) {
        fail("decoded name longer than 253 characters");
    }
    for (char c : name) {
        if (std::isupper(static_cast<unsigned char>(c))) {
            fail("decoded name not lower case");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);
    auto decoded = decode_dns_response(input);
    if (decoded) {
        if (decoded->question_name) {
            check_name(*decoded->question_name);
        }
        if (decoded->truncated && !decoded->answers.empty()) {
            fail("truncated response with answers");
        }
        for (const auto& record : decoded->answers) {
            check_name(record.name);
            dns_data_matches(record, "127.0.0.1");
        }
        judge_dns_response(*decoded, decoded->id, decoded->question_name.value_or("x"),
                           dns_record_type::a, 0, std::string("192.0.2.1"));
    }

    std::string_view text(reinterpret_cast<const char*>(data), size);
    if (!dns_name_problem(text)) {
        auto name = canonical_dns_name(text);
        auto query = encode_dns_query(0x4242, name, dns_record_type::mx);
        query[2] |= 0x80;  // QR: now it reads as a response to itself
        auto echoed = decode_dns_response(query);
        if (!echoed || echoed->question_name != name ||
            echoed->question_type != static_cast<std::uint16_t>(dns_record_type::mx)) {
            fail("encoded query does not decode back to its question");
        }
    }
    return 0;
}
