#pragma once

#include <optional>
#include <set>
#include <string>

#include "import/keepalived_parser.hpp"
#include "import/translation_context.hpp"

namespace vigil::import {

struct translated_virtual_server {
    std::string name;  // the conf.d file's stem, and so the virtual server's name
    std::string text;
    std::size_t real_servers = 0;
};

// One virtual_server block as one conf.d file, or nothing (with warnings) when vigil cannot
// express it. `names` holds the names already used and receives this one.
std::optional<translated_virtual_server> translate_virtual_server(
    const keepalived_statement& virtual_server, std::set<std::string>& names,
    translation_context& context);

}  // namespace vigil::import
