#pragma once

#include <optional>
#include <string>

#include "config/model.hpp"
#include "config/toml_reader.hpp"

// The [virtual_server] table of an included file, with its real servers.
namespace vigil::config {

// `stem` is the file's name without its extension: the virtual server's name unless it sets one.
// Nothing when the table has any diagnostic.
std::optional<virtual_server> read_virtual_server(file_context& file, const toml::table& table,
                                                  const std::string& stem);

}  // namespace vigil::config
