#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "import/keepalived_parser.hpp"
#include "import/translation_context.hpp"

namespace vigil::import {

// What global_defs and the top level say about every VRRP instance.
struct vrrp_defaults {
    unsigned version = 2;  // global_defs vrrp_version
    // global_defs vrrp_garp_master_delay & co., by the instance keyword they default.
    std::map<std::string, const keepalived_statement*> garp;
    // vrrp_script blocks by name.
    std::map<std::string, const keepalived_statement*> scripts;
    // vrrp_track_file blocks by name.
    std::map<std::string, const keepalived_statement*> track_files;
    // global_defs lvs_sync_daemon INTERFACE INSTANCE [id N], by instance name.
    std::map<std::string, const keepalived_statement*> sync_daemon;
};

// Names and settings that must stay unique across instances.
struct vrrp_translation_state {
    std::set<std::string> instance_names;  // every instance seen, translated or not
    std::set<std::string> translated;      // the instances written
    bool sync_daemon_taken = false;
};

// One [[vrrp_instance]] table, or nothing (with warnings) when vigil could not run it.
std::optional<std::string> translate_vrrp_instance(const keepalived_statement& instance,
                                                   const vrrp_defaults& defaults,
                                                   vrrp_translation_state& state,
                                                   translation_context& context);

// One [[vrrp_sync_group]] table over the instances that were translated.
std::optional<std::string> translate_vrrp_sync_group(const keepalived_statement& group,
                                                     const vrrp_translation_state& state,
                                                     std::set<std::string>& grouped,
                                                     translation_context& context);

}  // namespace vigil::import
