#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/import_diagnostic.hpp"
#include "import/keepalived_parser.hpp"

namespace vigil::import {

struct translated_file {
    std::string path;  // relative to the output folder: "vigil.toml", "conf.d/<name>.toml"
    std::string text;
};

struct translate_options {
    // Finds a program named without a path (keepalived searches PATH; vigil runs absolute paths
    // only). The shell looks in PATH; tests answer from a table.
    std::function<std::optional<std::string>(std::string_view)> find_program;
    std::string source;  // the input as the header comment names it
};

struct translation {
    std::vector<translated_file> files;  // vigil.toml first
    std::vector<import_diagnostic> warnings;
    std::size_t vrrp_instances = 0;
    std::size_t virtual_servers = 0;
    std::size_t real_servers = 0;

    // Nothing vigil can run: no instance and no virtual server came through.
    bool empty() const { return vrrp_instances == 0 && virtual_servers == 0; }
};

// keepalived statements in, vigil's TOML files out, with a warning for everything that did not
// translate and a comment wherever the meaning changed. No I/O.
translation translate_keepalived(const std::vector<keepalived_statement>& statements,
                                 const translate_options& options);

}  // namespace vigil::import
