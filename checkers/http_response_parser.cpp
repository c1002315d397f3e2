#include "checkers/http_response_parser.hpp"

#include <algorithm>
#include <limits>

namespace vigil::checkers {

namespace {

// A chunk-size line or trailer line longer than this is not something a health endpoint sends.
constexpr std::size_t chunk_line_limit = 1024;

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == y; });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// Whether the comma-separated list `value` holds `token` (lower case), as Connection and
// Transfer-Encoding values are written; `last` asks for the final element only.
bool list_has(std::string_view value, std::string_view token, bool last = false) {
    bool found = false;
    while (true) {
        auto comma = value.find(',');
        auto item = trim(value.substr(0, comma));
        found = last ? iequals(item, token) : found || iequals(item, token);
        if (comma == std::string_view::npos) {
            return found;
        }
        value.remove_prefix(comma + 1);
    }
}

bool parse_decimal(std::string_view text, std::uint64_t& out) {
    if (text.empty() || text.size() > 18) {
        return false;
    }
    std::uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    out = v;
    return true;
}

}  // namespace

http_response_parser::http_response_parser(std::size_t header_limit)
    : header_limit_(header_limit) {}

void http_response_parser::reset(bool head_request) {
    head_request_ = head_request;
    phase_ = phase::status_line;
    outcome_ = outcome::need_more;
    line_.clear();
    header_bytes_ = 0;
    received_ = 0;
    status_ = 0;
    http11_ = false;
    connection_close_ = false;
    connection_keep_alive_ = false;
    chunked_ = false;
    has_length_ = false;
    length_ = 0;
    remaining_ = 0;
    keep_alive_ = false;
    stopped_ = false;
    error_.clear();
}

http_response_parser::outcome http_response_parser::fail(std::string_view why) {
    error_ = why;
    phase_ = phase::done;
    outcome_ = outcome::invalid;
    return outcome_;
}

http_response_parser::outcome http_response_parser::finish() {
    phase_ = phase::done;
    outcome_ = outcome::complete;
    return outcome_;
}

bool http_response_parser::take_line(std::string_view& bytes, std::string_view& line,
                                     std::size_t limit) {
    auto nl = bytes.find('\n');
    auto piece = bytes.substr(0, nl);
    if (line_.size() + piece.size() > limit) {
        // Reported by the caller through an oversized line.
        line_.clear();
        line = std::string_view();
        bytes = std::string_view();
        error_ = "line too long";
        return true;
    }
    if (nl == std::string_view::npos) {
        line_.append(piece);
        bytes = std::string_view();
        return false;
    }
    bytes.remove_prefix(nl + 1);
    if (line_.empty()) {
        line = piece;
    } else {
        line_.append(piece);
        line = line_;
    }
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return true;
}

http_response_parser::outcome http_response_parser::feed(std::string_view bytes,
                                                         http_body_sink& body) {
    if (outcome_ != outcome::need_more) {
        return outcome_;
    }
    received_ += bytes.size();
    while (outcome_ == outcome::need_more) {
        std::string_view line;
        switch (phase_) {
            case phase::status_line:
            case phase::header_line: {
                if (phase_ == phase::status_line && line_.size() < 5 && !bytes.empty()) {
                    // Fail garbage at once rather than waiting for a line end that may not come;
                    // the first bytes may have come in an earlier piece.
                    constexpr std::string_view prefix = "HTTP/";
                    auto n = std::min(prefix.size() - line_.size(), bytes.size());
                    if (std::string_view(line_) != prefix.substr(0, line_.size()) ||
                        bytes.substr(0, n) != prefix.substr(line_.size(), n)) {
                        return fail("invalid HTTP response: no status line");
                    }
                }
                // The budget left for headers; the pending piece of this line is counted in it.
                auto spent = std::min(header_limit_, header_bytes_ - line_.size());
                auto before = bytes.size();
                bool whole = take_line(bytes, line, header_limit_ - spent);
                header_bytes_ += before - bytes.size();
                if (!error_.empty()) {
                    return fail("invalid HTTP response: headers too long");
                }
                if (!whole) {
                    return outcome_;
                }
                auto result =
                    phase_ == phase::status_line ? on_status_line(line) : on_header_line(line);
                line_.clear();
                if (result != outcome::need_more) {
                    return result;
                }
                break;
            }
            case phase::chunk_size:
            case phase::chunk_data_end:
            case phase::trailer_line: {
                if (bytes.empty()) {
                    return outcome_;
                }
                bool whole = take_line(bytes, line, chunk_line_limit);
                if (!error_.empty()) {
                    return fail("invalid HTTP response: chunk line too long");
                }
                if (!whole) {
                    return outcome_;
                }
                std::string_view copy = line;
                outcome result = outcome::need_more;
                if (phase_ == phase::chunk_size) {
                    result = on_chunk_size(copy);
                } else if (phase_ == phase::chunk_data_end) {
                    if (!copy.empty()) {
                        result = fail("invalid HTTP response: chunk not followed by a line end");
                    } else {
                        phase_ = phase::chunk_size;
                    }
                } else if (copy.empty()) {
                    result = finish();
                }
                line_.clear();
                if (result != outcome::need_more) {
                    return result;
                }
                break;
            }
            case phase::body_length:
            case phase::chunk_data: {
                if (bytes.empty()) {
                    return outcome_;
                }
                auto result = deliver(bytes, remaining_, body);
                if (result != outcome::need_more) {
                    return result;
                }
                if (remaining_ == 0) {
                    if (phase_ == phase::body_length) {
                        return finish();
                    }
                    phase_ = phase::chunk_data_end;
                }
                break;
            }
            case phase::body_until_close: {
                if (bytes.empty()) {
                    return outcome_;
                }
                auto unlimited = std::numeric_limits<std::uint64_t>::max();
                return deliver(bytes, unlimited, body);
            }
            case phase::done:
                return outcome_;
        }
    }
    return outcome_;
}

http_response_parser::outcome http_response_parser::deliver(std::string_view& bytes,
                                                            std::uint64_t& remaining,
                                                            http_body_sink& body) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, bytes.size()));
    auto piece = bytes.substr(0, n);
    bytes.remove_prefix(n);
    remaining -= n;
    if (!body.on_body(piece)) {
        stopped_ = true;
        return finish();
    }
    return outcome::need_more;
}

http_response_parser::outcome http_response_parser::on_status_line(std::string_view line) {
    // HTTP/1.x SP 3DIGIT [SP reason]
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
        line[8] != ' ') {
        return fail("invalid HTTP response: malformed status line");
    }
    auto code = line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (line.size() > 12 && line[12] != ' ')) {
        return fail("invalid HTTP response: malformed status line");
    }
    status_ = static_cast<unsigned>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
    if (status_ < 100) {
        return fail("invalid HTTP response: malformed status line");
    }
    http11_ = line[7] != '0';
    phase_ = phase::header_line;
    return outcome::need_more;
}

http_response_parser::outcome http_response_parser::on_header_line(std::string_view line) {
    if (line.empty()) {
        return on_headers_end();
    }
    if (line.front() == ' ' || line.front() == '\t') {
        return outcome::need_more;  // an obsolete folded continuation: nothing we look at
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        return fail("invalid HTTP response: malformed header");
    }
    auto name = line.substr(0, colon);
    auto value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
        std::uint64_t n = 0;
        if (!parse_decimal(value, n) || (has_length_ && n != length_)) {
            return fail("invalid HTTP response: bad Content-Length");
        }
        has_length_ = true;
        length_ = n;
    } else if (iequals(name, "transfer-encoding")) {
        chunked_ = list_has(value, "chunked", true);
        if (!chunked_) {
            // Some other coding with no length: the body runs to the end of the connection.
            has_length_ = false;
        }
    } else if (iequals(name, "connection")) {
        connection_close_ = connection_close_ || list_has(value, "close");
        connection_keep_alive_ = connection_keep_alive_ || list_has(value, "keep-alive");
    }
    return outcome::need_more;
}

http_response_parser::outcome http_response_parser::on_headers_end() {
    if (status_ >= 100 && status_ < 200 && status_ != 101) {
        // An interim response (100 Continue, 103 Early Hints): the real one follows.
        auto received = received_;
        auto head = head_request_;
        reset(head);
        received_ = received;
        return outcome::need_more;
    }
    keep_alive_ = !connection_close_ && (http11_ || connection_keep_alive_);
    if (head_request_ || status_ == 204 || status_ == 304 || status_ == 101) {
        keep_alive_ = keep_alive_ && status_ != 101;
        return finish();
    }
    if (chunked_) {
        phase_ = phase::chunk_size;
        return outcome::need_more;
    }
    if (has_length_) {
        if (length_ == 0) {
            return finish();
        }
        remaining_ = length_;
        phase_ = phase::body_length;
        return outcome::need_more;
    }
    keep_alive_ = false;
    phase_ = phase::body_until_close;
    return outcome::need_more;
}

http_response_parser::outcome http_response_parser::on_chunk_size(std::string_view line) {
    std::uint64_t size = 0;
    std::size_t digits = 0;
    for (char c : line) {
        unsigned d = 0;
        if (c >= '0' && c <= '9') {
            d = static_cast<unsigned>(c - '0');
        } else if (lower(c) >= 'a' && lower(c) <= 'f') {
            d = static_cast<unsigned>(lower(c) - 'a' + 10);
        } else {
            break;  // a chunk extension or trailing space
        }
        if (++digits > 15) {
            return fail("invalid HTTP response: chunk size too large");
        }
        size = size * 16 + d;
    }
    auto rest = trim(line.substr(digits));
    if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
        return fail("invalid HTTP response: malformed chunk size");
    }
    if (size == 0) {
        phase_ = phase::trailer_line;
    } else {
        remaining_ = size;
        phase_ = phase::chunk_data;
    }
    return outcome::need_more;
}

http_response_parser::outcome http_response_parser::end_of_stream() {
    if (outcome_ != outcome::need_more) {
        return outcome_;
    }
    switch (phase_) {
        case phase::body_until_close:
            return finish();
        case phase::status_line:
            if (received_ == 0) {
                return fail("empty reply");
            }
            return fail("invalid HTTP response: connection closed in the status line");
        case phase::header_line:
            return fail("invalid HTTP response: connection closed in the headers");
        default:
            return fail("body cut short");
    }
}

}  // namespace vigil::checkers
