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

// A check's bind must be of the family of what it connects to: its own connect (read_check
// compares those), else the real servers', which `target` ("real server 192.0.2.1:80",
// "virtual server \"web\"") names in the message. `checks` are what read_checks read from
// `table` (at `path`).
void check_bind_families(file_context& file, const toml::table& table, const std::string& path,
                         const std::vector<check>& checks, address_family family,
                         const std::string& target);

}  // namespace vigil::config
