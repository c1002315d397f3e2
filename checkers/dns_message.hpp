#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/parse_result.hpp"

namespace vigil::checkers {

// The DNS wire format (RFC 1035) as far as a health check needs it: one query out, one response
// in. Pure: bytes in, structs out; the dns probe does the I/O.

// The record types a check may ask for, by their wire values.
enum class dns_record_type : std::uint16_t {
    a = 1,
    ns = 2,
    cname = 5,
    soa = 6,
    mx = 15,
    txt = 16,
    aaaa = 28,
    srv = 33,
};

// "A", "AAAA", ...; empty when the wire value is none of the above.
std::string_view to_string(dns_record_type type);
// Accepts the upper-case mnemonic ("MX") and lower case ("mx").
std::optional<dns_record_type> parse_dns_record_type(std::string_view text);
// "NOERROR", "NXDOMAIN", ... for the RFC 1035/2136 codes; "RCODE n" for others.
std::string dns_rcode_name(unsigned rcode);
std::optional<std::uint8_t> parse_dns_rcode(std::string_view text);

// Why `name` cannot be asked for, or nothing when it can: dot-separated labels of 1-63 bytes, at
// most 253 characters without the optional trailing dot; "." alone is the root.
std::optional<std::string> dns_name_problem(std::string_view name);
// The form the probe sends and compares: lower case, no trailing dot, "" for the root.
std::string canonical_dns_name(std::string_view name);

// A query with recursion desired, ready for UDP (prefix it with its length for TCP).
// `name` is canonical and passed dns_name_problem.
std::vector<std::uint8_t> encode_dns_query(std::uint16_t id, std::string_view name,
                                           dns_record_type type);

struct dns_record {
    std::string name;  // lower case, without the trailing dot; "" for the root
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    // The data in the form an operator writes it: "192.0.2.1", "2001:db8::1", "10 mail.example",
    // "ns.example" (NS, CNAME), the TXT strings concatenated, SOA as
    // "mname rname serial refresh retry expire minimum", SRV as "priority weight port target".
    // Empty for types the probe does not read.
    std::string data;
};

struct dns_response {
    std::uint16_t id = 0;
    bool truncated = false;
    std::uint8_t rcode = 0;
    // The first (and in practice only) question, echoed by the server.
    std::optional<std::string> question_name;
    std::uint16_t question_type = 0;
    std::vector<dns_record> answers;
};

// Strict: every length is checked against the message, names follow at most a bounded number of
// compression pointers and each must point before the name it is part of, so a hostile response
// cannot loop or read out of bounds.
parse_result<dns_response> decode_dns_response(std::span<const std::uint8_t> message);

// Whether a record's data equals what an operator wrote (names compare without case and without
// a trailing dot; addresses compare as addresses).
bool dns_data_matches(const dns_record& record, std::string_view expected);

// Whether `response` answers the query (`id`, `name`, `type`) as a healthy server would, with
// `rcode` and, when given, an answer of `type` whose data matches `answer`. Returns the reason it
// does not, for `real_server.down`; empty when it does.
std::string judge_dns_response(const dns_response& response, std::uint16_t id,
                               std::string_view name, dns_record_type type, std::uint8_t rcode,
                               const std::optional<std::string>& answer);

}  // namespace vigil::checkers
