#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "import/keepalived_parser.hpp"

namespace vigil::import {

// Reads a whole file; nothing (and `error` says why) when it cannot.
std::optional<std::string> read_text_file(const std::string& path, std::string& error);

// The parser's includes from the file system: globs expanded in sorted order, relative to the
// including file's folder, as keepalived does.
class file_include_resolver final : public include_resolver {
  public:
    include_resolution resolve(std::string_view pattern, std::string_view including_file) override;
};

// keepalived runs programs named without a path from PATH: the first executable match, or
// nothing.
std::optional<std::string> find_in_path(std::string_view program, std::string_view path_list);

}  // namespace vigil::import
