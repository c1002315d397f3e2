#include "checkers/dns_message.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace vigil::checkers;

namespace {

using bytes = std::vector<std::uint8_t>;

void append_name(bytes& out, std::initializer_list<std::string_view> labels) {
    for (auto label : labels) {
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
    }
    out.push_back(0);
}

void append_u16(bytes& out, unsigned v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

// A response header for ID 0x1234 with `flags`, one question "ok.test" of `type`.
bytes response_head(unsigned flags, unsigned answers, unsigned type = 1) {
    bytes out;
    append_u16(out, 0x1234);
    append_u16(out, flags);
    append_u16(out, 1);
    append_u16(out, answers);
    append_u16(out, 0);
    append_u16(out, 0);
    append_name(out, {"ok", "test"});
    append_u16(out, type);
    append_u16(out, 1);
    return out;
}

// An answer record whose name is a pointer to the question name (offset 12).
void append_answer(bytes& out, unsigned type, const bytes& data) {
    out.push_back(0xc0);
    out.push_back(12);
    append_u16(out, type);
    append_u16(out, 1);
    append_u16(out, 0);
    append_u16(out, 300);
    append_u16(out, static_cast<unsigned>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
}

}  // namespace

TEST_CASE("a query carries the ID, recursion desired, one question and class IN") {
    auto q = encode_dns_query(0xbeef, "ok.test", dns_record_type::aaaa);
    bytes expected{0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    append_name(expected, {"ok", "test"});
    append_u16(expected, 28);
    append_u16(expected, 1);
    CHECK(q == expected);
    auto root = encode_dns_query(1, "", dns_record_type::ns);
    CHECK(root.size() == 12 + 1 + 4);
    CHECK(root[12] == 0);
}

TEST_CASE("names are checked: labels of 1 to 63 bytes, 253 characters, root written as a dot") {
    CHECK_FALSE(dns_name_problem("example.org"));
    CHECK_FALSE(dns_name_problem("example.org."));
    CHECK_FALSE(dns_name_problem("."));
    CHECK(canonical_dns_name("Example.ORG.") == "example.org");
    CHECK(canonical_dns_name(".").empty());
    CHECK(dns_name_problem("") == "is empty (write \".\" for the root)");
    CHECK(dns_name_problem("a..b") == "has an empty label");
    CHECK(dns_name_problem(std::string(64, 'a') + ".org") ==
          "has a label longer than 63 characters");
    std::string long_name;
    for (int i = 0; i < 26; ++i) {
        long_name += "abcdefghi.";
    }
    CHECK(dns_name_problem(long_name + "x") == "is longer than 253 characters");
    CHECK(dns_name_problem("a b.org") == "has a space or a control character");
}

TEST_CASE("record types and response codes are read by their mnemonics") {
    CHECK(parse_dns_record_type("MX") == dns_record_type::mx);
    CHECK(parse_dns_record_type("srv") == dns_record_type::srv);
    CHECK_FALSE(parse_dns_record_type("ANY"));
    CHECK(parse_dns_rcode("NXDOMAIN") == 3);
    CHECK(parse_dns_rcode("refused") == 5);
    CHECK_FALSE(parse_dns_rcode("BOGUS"));
    CHECK(dns_rcode_name(2) == "SERVFAIL");
    CHECK(dns_rcode_name(12) == "RCODE 12");
}

TEST_CASE("an A answer decodes with the question, rcode and the address as text") {
    auto msg = response_head(0x8180, 1);
    append_answer(msg, 1, {127, 0, 0, 9});
    auto r = decode_dns_response(msg);
    REQUIRE(r);
    CHECK(r->id == 0x1234);
    CHECK(r->rcode == 0);
    CHECK_FALSE(r->truncated);
    CHECK(r->question_name == "ok.test");
    CHECK(r->question_type == 1);
    REQUIRE(r->answers.size() == 1);
    CHECK(r->answers[0].name == "ok.test");
    CHECK(r->answers[0].ttl == 300);
    CHECK(r->answers[0].data == "127.0.0.9");
    CHECK(judge_dns_response(*r, 0x1234, "ok.test", dns_record_type::a, 0, "127.0.0.9") == "");
    CHECK(judge_dns_response(*r, 0x1234, "ok.test", dns_record_type::a, 0, "127.0.0.10") ==
          "DNS answer has no A 127.0.0.10");
}

TEST_CASE("MX, SRV, TXT, SOA and AAAA data read as an operator writes them") {
    auto msg = response_head(0x8180, 5, 15);
    bytes mx{0, 10};
    append_name(mx, {"mail", "ok", "test"});
    append_answer(msg, 15, mx);
    bytes srv{0, 1, 0, 5, 0x01, 0xbb};
    srv.push_back(0xc0);  // target compressed: the question name
    srv.push_back(12);
    append_answer(msg, 33, srv);
    bytes txt{5, 'h', 'e', 'l', 'l', 'o', 3, 'b', 'y', 'e'};
    append_answer(msg, 16, txt);
    bytes soa;
    append_name(soa, {"ns", "ok", "test"});
    append_name(soa, {"hostmaster", "ok", "test"});
    for (unsigned v : {0u, 1u, 0u, 2u, 0u, 3u, 0u, 4u, 0u, 5u}) {
        append_u16(soa, v);
    }
    append_answer(msg, 6, soa);
    bytes aaaa(16, 0);
    aaaa[0] = 0x20;
    aaaa[1] = 0x01;
    aaaa[2] = 0x0d;
    aaaa[3] = 0xb8;
    aaaa[15] = 1;
    append_answer(msg, 28, aaaa);
    auto r = decode_dns_response(msg);
    REQUIRE(r);
    REQUIRE(r->answers.size() == 5);
    CHECK(r->answers[0].data == "10 mail.ok.test");
    CHECK(r->answers[1].data == "1 5 443 ok.test");
    CHECK(r->answers[2].data == "hellobye");
    CHECK(r->answers[3].data == "ns.ok.test hostmaster.ok.test 1 2 3 4 5");
    CHECK(r->answers[4].data == "2001:db8::1");
    CHECK(dns_data_matches(r->answers[0], "10 Mail.OK.test."));
    CHECK(dns_data_matches(r->answers[4], "2001:0db8:0::1"));
    CHECK_FALSE(dns_data_matches(r->answers[2], "HELLOBYE"));
}

TEST_CASE("the query ID, the question and the rcode decide the verdict") {
    auto msg = response_head(0x8183, 0);  // NXDOMAIN
    auto r = decode_dns_response(msg);
    REQUIRE(r);
    CHECK(judge_dns_response(*r, 0x1234, "ok.test", dns_record_type::a, 0, std::nullopt) ==
          "DNS rcode NXDOMAIN, expected NOERROR");
    CHECK(judge_dns_response(*r, 0x1234, "OK.test.", dns_record_type::a, 3, std::nullopt) == "");
    CHECK(judge_dns_response(*r, 0x4321, "ok.test", dns_record_type::a, 3, std::nullopt) ==
          "DNS answer with ID 4660, not the query's 17185");
    CHECK(judge_dns_response(*r, 0x1234, "other.test", dns_record_type::a, 3, std::nullopt) ==
          "DNS answer to another question");
    CHECK(judge_dns_response(*r, 0x1234, "ok.test", dns_record_type::mx, 3, std::nullopt) ==
          "DNS answer to another question");
}

TEST_CASE("a truncated response is reported as such without reading its records") {
    auto msg = response_head(0x8380, 3);  // TC, three answers promised, none present
    auto r = decode_dns_response(msg);
    REQUIRE(r);
    CHECK(r->truncated);
    CHECK(r->answers.empty());
}

TEST_CASE("malformed responses are refused, never read out of bounds") {
    CHECK(decode_dns_response(bytes{0x12, 0x34, 0x81}).error() ==
          "response shorter than a DNS header");
    auto query = encode_dns_query(1, "ok.test", dns_record_type::a);
    CHECK(decode_dns_response(query).error() == "message is a query, not a response");

    auto short_answer = response_head(0x8180, 1);
    append_answer(short_answer, 1, {127, 0, 0, 9});
    short_answer.pop_back();
    CHECK(decode_dns_response(short_answer).error() == "malformed answer record 1");

    auto bad_a = response_head(0x8180, 1);
    append_answer(bad_a, 1, {127, 0, 0});
    CHECK(decode_dns_response(bad_a).error() == "malformed A data in answer record 1");

    auto missing = response_head(0x8180, 2);
    append_answer(missing, 1, {127, 0, 0, 9});
    CHECK(decode_dns_response(missing).error() == "malformed answer record 2");
}

TEST_CASE("compression pointers that loop or point forward are refused") {
    // The question name points at itself.
    bytes self_loop{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    CHECK(decode_dns_response(self_loop).error() == "malformed question section");
    // Two pointers pointing at each other: the second would go forward again.
    auto msg = response_head(0x8180, 1);
    auto loop_at = msg.size();
    msg.push_back(0xc0);
    msg.push_back(static_cast<std::uint8_t>(loop_at + 2));
    msg.push_back(0xc0);
    msg.push_back(static_cast<std::uint8_t>(loop_at));
    CHECK_FALSE(decode_dns_response(msg));
    // A pointer past the end.
    auto past = response_head(0x8180, 1);
    past.push_back(0xc0);
    past.push_back(0xff);
    CHECK_FALSE(decode_dns_response(past));
    // An obsolete label type.
    bytes extended{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1};
    CHECK_FALSE(decode_dns_response(extended));
}
