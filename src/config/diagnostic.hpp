#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::config {

// Each validation rule, so that tests can prove every rule has a config that breaks it and so
// that the README can list them.
enum class rule {
    toml_syntax,
    unreadable_file,
    unknown_key,
    wrong_type,
    missing_key,
    out_of_range,
    bad_address,
    bad_duration,
    bad_value,
    advert_interval,
    family_mismatch,
    conflicting_keys,
    include_no_match,
    include_shape,
    duplicate_instance_name,
    duplicate_vrid,
    duplicate_virtual_server,
    duplicate_real_server,
    duplicate_check_name,  // two checks of one list with the same name
    unknown_user,          // a user or group the host's databases do not know
    nothing_to_run,
};

std::string_view to_string(rule r);
std::vector<rule> all_rules();

// Where something was written: the path as the file was opened, and toml++'s 1-based position.
struct location {
    std::string file;
    std::size_t line = 0;
    std::size_t column = 0;
};

std::string to_string(const location& where);  // "path:line:col"

struct diagnostic {
    location where;
    rule kind;
    std::string message;
};

// "path:line:col: error: message", the form compilers use, so editors can jump to it.
std::string to_string(const diagnostic& d);

}  // namespace vigil::config
