#include "base/json_writer.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

namespace vigil {

void json_writer::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) {
            out_ += ',';
        }
        first_.back() = false;
    }
}

void json_writer::begin_object() {
    separate();
    out_ += '{';
    first_.push_back(true);
}

void json_writer::end_object() {
    out_ += '}';
    first_.pop_back();
}

void json_writer::begin_array() {
    separate();
    out_ += '[';
    first_.push_back(true);
}

void json_writer::end_array() {
    out_ += ']';
    first_.pop_back();
}

void json_writer::key(std::string_view name) {
    separate();
    escaped(name);
    out_ += ':';
    after_key_ = true;
}

void json_writer::value(std::string_view text) {
    separate();
    escaped(text);
}

void json_writer::value(bool flag) {
    separate();
    out_ += flag ? "true" : "false";
}

void json_writer::value(std::int64_t number) {
    separate();
    char buffer[24];
    auto end = std::to_chars(buffer, buffer + sizeof buffer, number).ptr;
    out_.append(buffer, end);
}

void json_writer::value(std::uint64_t number) {
    separate();
    char buffer[24];
    auto end = std::to_chars(buffer, buffer + sizeof buffer, number).ptr;
    out_.append(buffer, end);
}

void json_writer::value(double number) {
    separate();
    // Rare in a document (an uptime, an age): boost::json's own form, so both agree exactly.
    out_ += boost::json::serialize(boost::json::value(number));
}

void json_writer::null() {
    separate();
    out_ += "null";
}

void json_writer::escaped(std::string_view text) {
    // As boost::json: '"', '\\' and the control characters below 0x20, nothing else.
    static constexpr char hex[] = "0123456789abcdef";
    out_ += '"';
    std::size_t plain = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        out_.append(text.data() + plain, i - plain);
        plain = i + 1;
        switch (c) {
            case '"':
                out_ += "\\\"";
                break;
            case '\\':
                out_ += "\\\\";
                break;
            case '\b':
                out_ += "\\b";
                break;
            case '\f':
                out_ += "\\f";
                break;
            case '\n':
                out_ += "\\n";
                break;
            case '\r':
                out_ += "\\r";
                break;
            case '\t':
                out_ += "\\t";
                break;
            default:
                out_ += "\\u00";
                out_ += hex[c >> 4];
                out_ += hex[c & 15];
        }
    }
    out_.append(text.data() + plain, text.size() - plain);
    out_ += '"';
}

}  // namespace vigil
