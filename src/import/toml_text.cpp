#include "import/toml_text.hpp"

#include <cstdio>

namespace vigil::import {

std::string toml_string(std::string_view text) {
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

void toml_table_text::comment(std::string_view text) {
    std::size_t at = 0;
    while (at <= text.size()) {
        auto end = text.find('\n', at);
        auto line =
            text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        text_ += "# ";
        text_ += line;
        text_ += "\n";
        if (end == std::string_view::npos) {
            break;
        }
        at = end + 1;
    }
}

void toml_table_text::set(std::string_view key, std::string_view value) {
    text_ += key;
    text_ += " = ";
    text_ += value;
    text_ += "\n";
}

void toml_table_text::set(std::string_view key, std::string_view value,
                          std::string_view trailing_comment) {
    text_ += key;
    text_ += " = ";
    text_ += value;
    text_ += "  # ";
    text_ += trailing_comment;
    text_ += "\n";
}

}  // namespace vigil::import
