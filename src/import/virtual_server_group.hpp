#pragma once

#include <string>
#include <vector>

#include "import/keepalived_parser.hpp"
#include "import/translation_context.hpp"

namespace vigil::import {

// One member of a virtual_server_group: the `virtual_server` arguments it stands for
// ("IP PORT" or "fwmark N") and, for a fwmark, the family the group gives it ("inet6").
struct virtual_server_group_member {
    std::vector<std::string> arguments;
    std::string family;
    source_position where;
};

// The group's members with address ranges expanded (192.168.200.3-10, 10.0.0.0/29,
// 10.0.0.250-10.0.1.5: at most 256 addresses a line). vigil has no groups: each member becomes
// a virtual server of its own, with the group's real servers and checks.
std::vector<virtual_server_group_member> expand_virtual_server_group(
    const keepalived_statement& group, translation_context& context);

}  // namespace vigil::import
