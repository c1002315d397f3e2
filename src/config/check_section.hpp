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

// The `check = {...}` or `checks = [{...}, ...]` of the table `reader` reads (one of them at
// most): what a real server must pass, all of them. Empty when there is neither, or when any has
// a diagnostic.
std::vector<check> read_checks(table_reader& reader);

}  // namespace vigil::config
