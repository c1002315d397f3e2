#pragma once

#include <optional>
#include <string>

#include "config/model.hpp"
#include "config/toml_reader.hpp"

// A health check table, a virtual server's default or a real server's own.
namespace vigil::config {

// `path` names the table in diagnostics ("virtual_server.check"). Nothing when the table has any
// diagnostic.
std::optional<check> read_check(file_context& file, const toml::table& table,
                                const std::string& path);

}  // namespace vigil::config
