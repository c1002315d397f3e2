#include "config/toml_prescan.hpp"

#include <cstdio>

namespace vigil::config {
namespace {

bool bare_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

class scanner {
  public:
    explicit scanner(std::string_view text) : text_(text) {}

    std::optional<prescan_problem> run();

  private:
    bool at_end() const { return at_ >= text_.size(); }
    bool starts_with(std::string_view s) const { return text_.substr(at_).starts_with(s); }
    // Moves one byte on, keeping the line and (character) column of the next byte.
    void advance();
    void skip_comment();
    // Past a string whose opening quote(s) `at_` points at; `quote` is " or '.
    void skip_string(char quote);
    prescan_problem problem(std::string message) const { return {line_, column_, message}; }
    std::string describe_non_ascii() const;

    std::string_view text_;
    std::size_t at_ = 0;
    std::size_t line_ = 1;
    std::size_t column_ = 1;
};

void scanner::advance() {
    auto c = static_cast<unsigned char>(text_[at_++]);
    if (c == '\n') {
        ++line_;
        column_ = 1;
    } else if ((c & 0xC0) != 0x80) {
        // UTF-8 continuation bytes belong to the character before them.
        ++column_;
    }
}

void scanner::skip_comment() {
    while (!at_end() && text_[at_] != '\n') {
        advance();
    }
}

void scanner::skip_string(char quote) {
    const std::string triple(3, quote);
    bool multiline = starts_with(triple);
    for (std::size_t i = 0; i < (multiline ? 3u : 1u); ++i) {
        advance();
    }
    while (!at_end()) {
        char c = text_[at_];
        if (quote == '"' && c == '\\') {
            advance();
            if (!at_end()) {
                advance();
            }
            continue;
        }
        if (!multiline && c == '\n') {
            return;  // unterminated: toml++ reports it
        }
        if (multiline ? starts_with(triple) : c == quote) {
            for (std::size_t i = 0; i < (multiline ? 3u : 1u); ++i) {
                advance();
            }
            // Up to two more quotes right before the closing ones belong to the string.
            for (int extra = 0; multiline && extra < 2 && !at_end() && text_[at_] == quote;
                 ++extra) {
                advance();
            }
            return;
        }
        advance();
    }
}

std::string scanner::describe_non_ascii() const {
    auto byte = [&](std::size_t i) {
        return at_ + i < text_.size() ? static_cast<unsigned char>(text_[at_ + i]) : 0u;
    };
    unsigned lead = byte(0);
    unsigned code = 0;
    std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length > 0) {
        code = lead & (0x7Fu >> length);
        for (std::size_t i = 1; i < length; ++i) {
            if ((byte(i) & 0xC0) != 0x80) {
                length = 0;
                break;
            }
            code = (code << 6) | (byte(i) & 0x3F);
        }
    }
    char name[32];
    if (length > 0) {
        std::snprintf(name, sizeof name, "character U+%04X", code);
    } else {
        std::snprintf(name, sizeof name, "byte 0x%02X", lead);
    }
    return std::string(name) +
           " outside a string or comment (TOML allows only ASCII in keys and between values)";
}

std::optional<prescan_problem> scanner::run() {
    if (starts_with("\xEF\xBB\xBF")) {
        at_ = 3;  // a UTF-8 byte order mark, which TOML allows
    }
    std::size_t nesting = 0;
    // Parts of the dotted key being read: dots seen since the last character that cannot be
    // inside a key (strings are quoted parts, white space may surround the dots).
    std::size_t key_parts = 1;
    while (!at_end()) {
        char c = text_[at_];
        if (static_cast<unsigned char>(c) >= 0x80) {
            return problem(describe_non_ascii());
        }
        if (c == '#') {
            skip_comment();
            continue;
        }
        if (c == '"' || c == '\'') {
            skip_string(c);
            continue;
        }
        if (c == '.') {
            if (++key_parts > max_key_parts) {
                return problem("a key of more than " + std::to_string(max_key_parts) +
                               " dotted parts");
            }
        } else if (c == '[' || c == '{') {
            if (++nesting > max_nesting) {
                return problem("tables and arrays nested more than " + std::to_string(max_nesting) +
                               " deep");
            }
            key_parts = 1;
        } else if (c == ']' || c == '}') {
            nesting -= nesting > 0 ? 1 : 0;
            key_parts = 1;
        } else if (!bare_key_char(c) && c != ' ' && c != '\t') {
            key_parts = 1;
        }
        advance();
    }
    return std::nullopt;
}

}  // namespace

std::optional<prescan_problem> prescan_toml(std::string_view text) {
    return scanner(text).run();
}

}  // namespace vigil::config
