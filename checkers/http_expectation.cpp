#include "checkers/http_expectation.hpp"

#include <charconv>

namespace vigil::checkers {

bool status_set::contains(unsigned status) const {
    for (const auto& r : ranges_) {
        if (status >= r.first && status <= r.last) {
            return true;
        }
    }
    return false;
}

std::string status_set::to_string() const {
    std::string out;
    for (const auto& r : ranges_) {
        if (!out.empty()) {
            out += ',';
        }
        out += std::to_string(r.first);
        if (r.last != r.first) {
            out += '-' + std::to_string(r.last);
        }
    }
    return out;
}

namespace {

bool parse_code(std::string_view text, unsigned& code) {
    if (text.size() != 3) {
        return false;
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
    return ec == std::errc{} && end == text.data() + text.size() && code >= 100 && code <= 599;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

parse_result<status_set::range> parse_status_range(std::string_view text) {
    auto fail = [&] {
        return parse_result<status_set::range>::failure(
            "\"" + std::string(text) +
            "\" is not a status code or range: write 200 or \"200-299\" (codes 100 to 599)");
    };
    auto dash = text.find('-');
    unsigned first = 0;
    unsigned last = 0;
    if (dash == std::string_view::npos) {
        if (!parse_code(text, first)) {
            return fail();
        }
        return status_set::range{first, first};
    }
    if (!parse_code(text.substr(0, dash), first) || !parse_code(text.substr(dash + 1), last)) {
        return fail();
    }
    if (last < first) {
        return parse_result<status_set::range>::failure("\"" + std::string(text) +
                                                        "\" is an empty range: it ends before "
                                                        "it starts");
    }
    return status_set::range{first, last};
}

parse_result<body_digest> parse_body_digest(std::string_view text) {
    auto colon = text.find(':');
    auto name = text.substr(0, colon);
    body_digest digest{};
    std::size_t hex_digits = 0;
    if (name == "md5") {
        digest.algo = body_digest::algorithm::md5;
        hex_digits = 32;
    } else if (name == "sha256") {
        digest.algo = body_digest::algorithm::sha256;
        hex_digits = 64;
    } else {
        return parse_result<body_digest>::failure(
            "\"" + std::string(text) + "\" is not a digest: write md5:<32 hex digits> or " +
            "sha256:<64 hex digits>");
    }
    auto hex = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
    if (hex.size() != hex_digits) {
        return parse_result<body_digest>::failure(
            "\"" + std::string(text) + "\": a " + std::string(name) + " digest has " +
            std::to_string(hex_digits) + " hex digits, got " + std::to_string(hex.size()));
    }
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int high = hex_value(hex[i]);
        int low = hex_value(hex[i + 1]);
        if (high < 0 || low < 0) {
            return parse_result<body_digest>::failure("\"" + std::string(text) +
                                                      "\" has a character that is not a hex "
                                                      "digit");
        }
        digest.bytes.push_back(static_cast<std::uint8_t>(high * 16 + low));
    }
    return digest;
}

std::string to_string(const body_digest& digest) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = digest.algo == body_digest::algorithm::md5 ? "md5:" : "sha256:";
    for (auto byte : digest.bytes) {
        out += digits[byte >> 4];
        out += digits[byte & 0xf];
    }
    return out;
}

}  // namespace vigil::checkers
