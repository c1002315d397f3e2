#include "import/toml_text.hpp"

#include <cstdio>

#include "import/utf8_text.hpp"

namespace vigil::import {

std::string toml_string(std::string_view raw) {
    std::string text = valid_utf8(raw);
    std::string out = "\"";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (byte < 0x20 || byte == 0x7f) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(byte));
                    out += escaped;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string toml_string_array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i ? ", " : "") + toml_string(items[i]);
    }
    return out + "]";
}

void toml_table_text::comment(std::string_view raw) {
    // A comment holds no control character but tab, and only valid UTF-8.
    std::string text = valid_utf8(raw);
    for (auto& c : text) {
        auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f) {
            c = '?';
        }
    }
    std::string block;
    std::size_t at = 0;
    while (at <= text.size()) {
        auto end = text.find('\n', at);
        block += "# ";
        block += text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        block += "\n";
        if (end == std::string_view::npos) {
            break;
        }
        at = end + 1;
    }
    lines_.push_back({{}, block});
}

void toml_table_text::set(std::string_view key, std::string_view value,
                          std::string_view trailing_comment) {
    std::string text = std::string(key) + " = " + std::string(value);
    if (!trailing_comment.empty()) {
        text += "  # " + std::string(trailing_comment);
    }
    text += "\n";
    for (auto& existing : lines_) {
        if (existing.key == key) {
            existing.text = std::move(text);
            return;
        }
    }
    lines_.push_back({std::string(key), std::move(text)});
}

void toml_table_text::append_lines(const toml_table_text& other) {
    for (const auto& l : other.lines_) {
        bool replaced = false;
        if (!l.key.empty()) {
            for (auto& existing : lines_) {
                if (existing.key == l.key) {
                    existing.text = l.text;
                    replaced = true;
                }
            }
        }
        if (!replaced) {
            lines_.push_back(l);
        }
    }
}

std::string toml_table_text::text() const {
    std::string out = header_.empty() ? std::string() : header_ + "\n";
    for (const auto& l : lines_) {
        out += l.text;
    }
    return out;
}

}  // namespace vigil::import
