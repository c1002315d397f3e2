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
    explicit toml_table_text(std::string header) : text_(std::move(header) + "\n") {}

    void comment(std::string_view text);
    // `value` is TOML text already (a quoted string, a number, an array, an inline table).
    void set(std::string_view key, std::string_view value);
    void set(std::string_view key, std::string_view value, std::string_view trailing_comment);
    void append(std::string_view text) { text_ += text; }

    const std::string& text() const { return text_; }

  private:
    std::string text_;
};

}  // namespace vigil::import
