#pragma once

#include "config/model.hpp"
#include "config/toml_reader.hpp"

// The main file's [[vrrp_instance]] tables, with their trackers and notify scripts, and the
// [[vrrp_sync_group]] tables that tie instances together.
namespace vigil::config {

// Keeps only the instances that are valid; the others leave their diagnostics.
void read_vrrp_instances(table_reader& root, configuration& config);
// Needs the instances read first: a group may name only instances that exist.
void read_sync_groups(table_reader& root, configuration& config);

}  // namespace vigil::config
