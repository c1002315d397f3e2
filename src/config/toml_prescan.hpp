#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// A pass over a file's text before toml++ 3.3.0 sees it, refusing what that parser handles badly:
// it recurses once per part of a dotted key (40,000 parts overflow the stack), and a character in
// U+00A1..U+0499 right after a value reaches a __builtin_unreachable in its Unicode tables.
namespace vigil::config {

// Far beyond any real config: vigil's deepest keys have four parts.
inline constexpr std::size_t max_key_parts = 32;
inline constexpr std::size_t max_nesting = 32;

struct prescan_problem {
    std::size_t line = 1;    // 1-based
    std::size_t column = 1;  // 1-based, in characters, as toml++ counts
    std::string message;
};

// The first of: a key (or table header) of more than max_key_parts dotted parts, arrays and inline
// tables nested deeper than max_nesting, a non-ASCII character outside a string or comment (TOML
// allows none there, so no valid file is refused for it).
std::optional<prescan_problem> prescan_toml(std::string_view text);

}  // namespace vigil::config
