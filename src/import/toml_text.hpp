#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil::import {

// TOML basic string, escaped: "a \"b\"".
std::string toml_string(std::string_view text);
// ["a", "b"]
std::string toml_string_array(const std::vector<std::string>& items);

// The text of one TOML table, written key by key in the order given, with comments where the
// translation needs words (toml++ writes no comments, so the importer writes its own text).
class toml_table_text {
  public:
    explicit toml_table_text(std::string header) : header_(std::move(header)) {}

    void comment(std::string_view text);
    // `value` is TOML text already (a quoted string, a number, an array, an inline table). A key
    // set again keeps its place and takes the new value, as a repeated keepalived keyword does:
    // TOML refuses a key defined twice.
    void set(std::string_view key, std::string_view value, std::string_view trailing_comment = {});
    // Text as it is (a comment block, or a following table).
    void append(std::string_view text) { lines_.push_back({{}, std::string(text)}); }
    // Another table's lines, without its header, keys merged as set() merges them.
    void append_lines(const toml_table_text& other);

    std::string text() const;

  private:
    struct line {
        std::string key;  // empty for comments and appended text
        std::string text;
    };
    std::string header_;
    std::vector<line> lines_;
};

}  // namespace vigil::import
