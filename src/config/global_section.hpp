#pragma once

#include "config/model.hpp"
#include "config/toml_reader.hpp"

// The main file's settings that are not VRRP: [global] with its log and ipvs tables, and the
// [[alert]] hooks.
namespace vigil::config {

// Reads [global]; without it every default holds (the node name is the host name).
void read_global(table_reader& root, configuration& config);
void read_alerts(table_reader& root, configuration& config);

}  // namespace vigil::config
