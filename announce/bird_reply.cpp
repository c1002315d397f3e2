#include "announce/bird_reply.hpp"

#include <sstream>

namespace vigil::announce {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

void bird_reply_parser::fail(std::string why) {
    if (!failure_) {
        failure_ = std::move(why);
    }
    partial_.clear();
}

void bird_reply_parser::feed(std::string_view bytes) {
    while (!failure_ && !bytes.empty()) {
        auto newline = bytes.find('\n');
        auto piece = bytes.substr(0, newline);
        if (partial_.size() + piece.size() > max_line_) {
            fail("a line longer than " + std::to_string(max_line_) + " bytes");
            return;
        }
        partial_.append(piece);
        if (newline == std::string_view::npos) {
            return;
        }
        bytes.remove_prefix(newline + 1);
        std::string line;
        line.swap(partial_);
        take_line(line);
    }
}

void bird_reply_parser::take_line(std::string_view line) {
    current_size_ += line.size() + 1;
    if (current_size_ > max_reply_) {
        fail("a reply longer than " + std::to_string(max_reply_) + " bytes");
        return;
    }
    if (!line.empty() && line.front() == ' ') {
        if (current_.lines.empty()) {
            fail("a continuation line opens a reply");
            return;
        }
        current_.lines.push_back({current_.lines.back().code, std::string(line.substr(1))});
        return;
    }
    if (line.size() < 5 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        !is_digit(line[3]) || (line[4] != '-' && line[4] != ' ')) {
        fail("a line without a reply code");
        return;
    }
    int code =
        (line[0] - '0') * 1000 + (line[1] - '0') * 100 + (line[2] - '0') * 10 + (line[3] - '0');
    current_.lines.push_back({code, std::string(line.substr(5))});
    if (line[4] == ' ') {
        current_.code = code;
        ready_.push_back(std::move(current_));
        current_ = {};
        current_size_ = 0;
    }
}

std::optional<bird_reply> bird_reply_parser::next() {
    if (ready_taken_ == ready_.size()) {
        ready_.clear();
        ready_taken_ = 0;
        return std::nullopt;
    }
    return std::move(ready_[ready_taken_++]);
}

std::vector<bird_protocol> parse_show_protocols(const bird_reply& reply) {
    std::vector<bird_protocol> rows;
    for (const auto& line : reply.lines) {
        if (line.code != 1002) {
            continue;
        }
        std::istringstream in(line.text);
        bird_protocol row;
        in >> row.name >> row.protocol >> row.table >> row.state >> row.since;
        if (row.since.empty()) {
            continue;
        }
        std::getline(in, row.info);
        auto first = row.info.find_first_not_of(' ');
        auto last = row.info.find_last_not_of(' ');
        row.info = first == std::string::npos ? "" : row.info.substr(first, last - first + 1);
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace vigil::announce
