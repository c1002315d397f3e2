#include "checkers/dns_message.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/address_v6.hpp>
#pragma GCC diagnostic pop

#include "base/address.hpp"

namespace vigil::checkers {

namespace {

constexpr std::size_t header_size = 12;
constexpr std::size_t max_label = 63;
constexpr std::size_t max_name_text = 253;
// A name has at most 127 labels; a pointer per label is the most a sane message needs.
constexpr unsigned max_pointers = 127;

struct type_name {
    dns_record_type type;
    std::string_view name;
};

constexpr std::array<type_name, 8> type_names{{
    {dns_record_type::a, "A"},
    {dns_record_type::ns, "NS"},
    {dns_record_type::cname, "CNAME"},
    {dns_record_type::soa, "SOA"},
    {dns_record_type::mx, "MX"},
    {dns_record_type::txt, "TXT"},
    {dns_record_type::aaaa, "AAAA"},
    {dns_record_type::srv, "SRV"},
}};

constexpr std::array<std::string_view, 11> rcode_names{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                       "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                       "NXRRSET", "NOTAUTH", "NOTZONE"};

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string without_root_dot(std::string_view name) {
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    return lower(name);
}

// Reads big-endian fields with bounds checks; any read past the end marks the reader failed.
class reader {
  public:
    explicit reader(std::span<const std::uint8_t> message) : message_(message) {}

    bool failed() const { return failed_; }
    std::size_t offset() const { return offset_; }
    std::size_t remaining() const { return failed_ ? 0 : message_.size() - offset_; }

    std::uint8_t u8() {
        if (remaining() < 1) {
            failed_ = true;
            return 0;
        }
        return message_[offset_++];
    }
    std::uint16_t u16() {
        auto hi = u8();
        auto lo = u8();
        return static_cast<std::uint16_t>(hi << 8 | lo);
    }
    std::uint32_t u32() {
        std::uint32_t hi = u16();
        return hi << 16 | u16();
    }
    void skip(std::size_t n) {
        if (remaining() < n) {
            failed_ = true;
            return;
        }
        offset_ += n;
    }

    // A possibly compressed name at the current offset; the reader moves past its in-place part.
    std::optional<std::string> name() {
        std::string out;
        std::size_t at = offset_;
        std::size_t resume = 0;  // where the reader continues after the first pointer
        // Every pointer must go strictly backwards from the lowest offset seen so far, so no
        // sequence of pointers can revisit a byte; the count bounds the work regardless.
        std::size_t lowest = offset_;
        unsigned pointers = 0;
        for (;;) {
            if (at >= message_.size()) {
                return fail();
            }
            std::uint8_t length = message_[at];
            if ((length & 0xc0) == 0xc0) {
                if (at + 1 >= message_.size() || ++pointers > max_pointers) {
                    return fail();
                }
                std::size_t target =
                    static_cast<std::size_t>(length & 0x3f) << 8 | message_[at + 1];
                if (target >= lowest) {
                    return fail();
                }
                if (resume == 0) {
                    resume = at + 2;
                }
                lowest = target;
                at = target;
                continue;
            }
            if ((length & 0xc0) != 0) {
                return fail();  // the 0x40 and 0x80 label types are obsolete or unassigned
            }
            if (length == 0) {
                offset_ = resume != 0 ? resume : at + 1;
                return out;
            }
            if (at + 1 + length > message_.size()) {
                return fail();
            }
            if (!out.empty()) {
                out += '.';
            }
            for (std::size_t i = 0; i < length; ++i) {
                out += static_cast<char>(std::tolower(message_[at + 1 + i]));
            }
            if (out.size() > max_name_text) {
                return fail();
            }
            at += 1 + length;
            if (resume == 0) {
                lowest = at;
            }
        }
    }

    std::span<const std::uint8_t> message() const { return message_; }

  private:
    std::optional<std::string> fail() {
        failed_ = true;
        return std::nullopt;
    }

    std::span<const std::uint8_t> message_;
    std::size_t offset_ = 0;
    bool failed_ = false;
};

// The record data in presentation form, read from [start, start + length); the reader covers the
// whole message so compressed names inside the data resolve.
std::optional<std::string> read_data(std::span<const std::uint8_t> message, std::uint16_t type,
                                     std::size_t start, std::size_t length) {
    reader r(message.first(start + length));
    r.skip(start);
    std::string out;
    switch (static_cast<dns_record_type>(type)) {
        case dns_record_type::a: {
            if (length != 4) {
                return std::nullopt;
            }
            for (std::size_t i = 0; i < 4; ++i) {
                out += (i ? "." : "") + std::to_string(message[start + i]);
            }
            return out;
        }
        case dns_record_type::aaaa: {
            if (length != 16) {
                return std::nullopt;
            }
            boost::asio::ip::address_v6::bytes_type bytes{};
            std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(start), 16, bytes.begin());
            return boost::asio::ip::address_v6(bytes).to_string();
        }
        case dns_record_type::ns:
        case dns_record_type::cname: {
            auto name = r.name();
            if (!name || r.remaining() != 0) {
                return std::nullopt;
            }
            return name;
        }
        case dns_record_type::mx: {
            auto preference = r.u16();
            auto name = r.name();
            if (!name || r.remaining() != 0) {
                return std::nullopt;
            }
            return std::to_string(preference) + " " + *name;
        }
        case dns_record_type::srv: {
            auto priority = r.u16();
            auto weight = r.u16();
            auto port = r.u16();
            auto name = r.name();
            if (!name || r.remaining() != 0) {
                return std::nullopt;
            }
            return std::to_string(priority) + " " + std::to_string(weight) + " " +
                   std::to_string(port) + " " + *name;
        }
        case dns_record_type::soa: {
            auto mname = r.name();
            auto rname = r.name();
            if (!mname || !rname) {
                return std::nullopt;
            }
            out = *mname + " " + *rname;
            for (int i = 0; i < 5; ++i) {
                out += " " + std::to_string(r.u32());
            }
            if (r.failed() || r.remaining() != 0) {
                return std::nullopt;
            }
            return out;
        }
        case dns_record_type::txt: {
            while (r.remaining() > 0) {
                std::size_t n = r.u8();
                if (r.remaining() < n) {
                    return std::nullopt;
                }
                auto at = r.offset();
                out.append(reinterpret_cast<const char*>(message.data()) + at, n);
                r.skip(n);
            }
            return out;
        }
    }
    return std::string();  // a type the probe does not read: its data is not judged
}

}  // namespace

std::string_view to_string(dns_record_type type) {
    for (const auto& t : type_names) {
        if (t.type == type) {
            return t.name;
        }
    }
    return {};
}

std::optional<dns_record_type> parse_dns_record_type(std::string_view text) {
    for (const auto& t : type_names) {
        if (text == t.name || text == lower(t.name)) {
            return t.type;
        }
    }
    return std::nullopt;
}

std::string dns_rcode_name(unsigned rcode) {
    if (rcode < rcode_names.size()) {
        return std::string(rcode_names[rcode]);
    }
    return "RCODE " + std::to_string(rcode);
}

std::optional<std::uint8_t> parse_dns_rcode(std::string_view text) {
    for (std::size_t i = 0; i < rcode_names.size(); ++i) {
        if (text == rcode_names[i] || text == lower(rcode_names[i])) {
            return static_cast<std::uint8_t>(i);
        }
    }
    return std::nullopt;
}

std::string canonical_dns_name(std::string_view name) {
    return name == "." ? std::string() : without_root_dot(name);
}

std::optional<std::string> dns_name_problem(std::string_view name) {
    if (name == ".") {
        return std::nullopt;
    }
    std::string text = without_root_dot(name);
    if (text.empty()) {
        return "is empty (write \".\" for the root)";
    }
    if (text.size() > max_name_text) {
        return "is longer than 253 characters";
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = std::min(text.find('.', start), text.size());
        auto label = end - start;
        if (label == 0) {
            return "has an empty label";
        }
        if (label > max_label) {
            return "has a label longer than 63 characters";
        }
        start = end + 1;
    }
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte <= ' ' || byte >= 0x7f) {
            return "has a space or a control character";
        }
    }
    return std::nullopt;
}

std::vector<std::uint8_t> encode_dns_query(std::uint16_t id, std::string_view name,
                                           dns_record_type type) {
    std::vector<std::uint8_t> out{
        static_cast<std::uint8_t>(id >> 8),
        static_cast<std::uint8_t>(id & 0xff),
        0x01,  // RD: a recursor answers for names it is not authoritative for
        0x00,
        0x00,
        0x01,  // one question
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
    };
    std::size_t start = 0;
    while (start < name.size()) {
        auto end = std::min(name.find('.', start), name.size());
        out.push_back(static_cast<std::uint8_t>(end - start));
        out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                   name.begin() + static_cast<std::ptrdiff_t>(end));
        start = end + 1;
    }
    out.push_back(0);
    auto wire = static_cast<std::uint16_t>(type);
    out.push_back(static_cast<std::uint8_t>(wire >> 8));
    out.push_back(static_cast<std::uint8_t>(wire & 0xff));
    out.push_back(0x00);
    out.push_back(0x01);  // class IN
    return out;
}

parse_result<dns_response> decode_dns_response(std::span<const std::uint8_t> message) {
    using result = parse_result<dns_response>;
    if (message.size() < header_size) {
        return result::failure("response shorter than a DNS header");
    }
    reader r(message);
    dns_response out;
    out.id = r.u16();
    auto flags = r.u16();
    if ((flags & 0x8000) == 0) {
        return result::failure("message is a query, not a response");
    }
    out.truncated = (flags & 0x0200) != 0;
    out.rcode = static_cast<std::uint8_t>(flags & 0x000f);
    auto questions = r.u16();
    auto answers = r.u16();
    r.skip(4);  // authority and additional sections are not read
    if (questions > 1) {
        return result::failure("response has " + std::to_string(questions) + " questions");
    }
    if (questions == 1) {
        out.question_name = r.name();
        out.question_type = r.u16();
        r.skip(2);
        if (r.failed()) {
            return result::failure("malformed question section");
        }
    }
    // A truncated response may end anywhere in its records; the TCP answer replaces it.
    if (out.truncated) {
        return out;
    }
    for (unsigned i = 0; i < answers; ++i) {
        dns_record record;
        auto name = r.name();
        record.type = r.u16();
        r.skip(2);  // class
        record.ttl = r.u32();
        std::size_t length = r.u16();
        if (!name || r.failed() || r.remaining() < length) {
            return result::failure("malformed answer record " + std::to_string(i + 1));
        }
        record.name = *name;
        auto data = read_data(message, record.type, r.offset(), length);
        if (!data) {
            return result::failure(
                "malformed " + std::string(to_string(static_cast<dns_record_type>(record.type))) +
                " data in answer record " + std::to_string(i + 1));
        }
        record.data = std::move(*data);
        r.skip(length);
        out.answers.push_back(std::move(record));
    }
    return out;
}

bool dns_data_matches(const dns_record& record, std::string_view expected) {
    auto type = static_cast<dns_record_type>(record.type);
    if (type == dns_record_type::a || type == dns_record_type::aaaa) {
        auto want = parse_address(expected);
        auto have = parse_address(record.data);
        return want && have && *want == *have;
    }
    if (type == dns_record_type::txt) {
        return record.data == expected;
    }
    // Names in the data: compare without case and without the root's dot, field by field.
    return without_root_dot(record.data) == without_root_dot(expected) ||
           lower(record.data) == lower(expected);
}

std::string judge_dns_response(const dns_response& response, std::uint16_t id,
                               std::string_view name, dns_record_type type, std::uint8_t rcode,
                               const std::optional<std::string>& answer) {
    if (response.id != id) {
        return "DNS answer with ID " + std::to_string(response.id) + ", not the query's " +
               std::to_string(id);
    }
    if (!response.question_name || *response.question_name != without_root_dot(name) ||
        response.question_type != static_cast<std::uint16_t>(type)) {
        return "DNS answer to another question";
    }
    if (response.rcode != rcode) {
        return "DNS rcode " + dns_rcode_name(response.rcode) + ", expected " +
               dns_rcode_name(rcode);
    }
    if (answer) {
        for (const auto& record : response.answers) {
            if (record.type == static_cast<std::uint16_t>(type) &&
                dns_data_matches(record, *answer)) {
                return {};
            }
        }
        return "DNS answer has no " + std::string(to_string(type)) + " " + *answer;
    }
    return {};
}

}  // namespace vigil::checkers
