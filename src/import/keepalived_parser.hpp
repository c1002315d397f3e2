#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/import_diagnostic.hpp"

namespace vigil::import {

// One keepalived statement: a keyword, its arguments, and the block that follows it, if any.
// `real_server 10.0.0.1 80 { weight 1 }` is keyword "real_server", arguments {"10.0.0.1", "80"}
// and a block holding one statement "weight" {"1"}. Inside list blocks (virtual_ipaddress,
// group) every line is a statement whose keyword is the first word.
struct keepalived_statement {
    std::string keyword;
    std::vector<std::string> arguments;
    bool has_block = false;
    std::vector<keepalived_statement> block;
    source_position where;
};

struct included_file {
    std::string path;  // as later messages should name it
    std::string text;
};

struct include_resolution {
    std::vector<included_file> files;  // in the order keepalived reads them (sorted glob matches)
    std::string error;                 // why nothing could be read; empty when files were found
};

// The parser's only window on the outside world: the shell reads files and expands globs, the
// tests answer from memory.
class include_resolver {
  public:
    virtual ~include_resolver() = default;
    // `pattern` is the include's argument, `including_file` the path of the file that holds it
    // (relative patterns are relative to that file's folder).
    virtual include_resolution resolve(std::string_view pattern,
                                       std::string_view including_file) = 0;
};

struct parse_options {
    // keepalived -i ID: lines starting "@ID" are kept, "@^ID" dropped; other "@" lines dropped.
    std::optional<std::string> config_id;
    unsigned max_include_depth = 16;
    unsigned max_block_depth = 64;
    std::size_t max_files = 1000;
};

struct parse_result {
    std::vector<keepalived_statement> statements;
    std::vector<import_diagnostic> warnings;
    // Set when the input cannot be read with confidence (an unclosed block or quote); the
    // statements are then incomplete and must not be translated.
    std::optional<import_diagnostic> error;
};

// Parses keepalived's configuration grammar as real files use it: `!` and `#` comments, quoted
// strings, braces on the statement's line or the next, several statements between braces on one
// line, `\` line continuations, `include` with globs (cycles and depth bounded) and `@ID`
// conditional lines.
parse_result parse_keepalived(std::string_view text, std::string_view file_name,
                              include_resolver& resolver, const parse_options& options = {});

// Splits a script string the way keepalived does before executing it without a shell: words
// separated by blanks, '...' and "..." quoting, backslash escaping the next character.
std::vector<std::string> split_command(std::string_view command);

}  // namespace vigil::import
