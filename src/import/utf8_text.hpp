#pragma once

#include <string>
#include <string_view>

namespace vigil::import {

// The text with every byte that is not part of valid UTF-8 replaced by U+FFFD: TOML files are
// UTF-8, and keepalived's are bytes.
std::string valid_utf8(std::string_view text);
bool is_valid_utf8(std::string_view text);

}  // namespace vigil::import
