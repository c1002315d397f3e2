#pragma once

#include <string>

namespace vigil::import {

// Where a keepalived statement came from: keepalived reports lines, not columns, and so do we.
struct source_position {
    std::string file;
    unsigned line = 0;
    friend bool operator==(const source_position&, const source_position&) = default;
};

enum class severity { warning, error };

// One message about the input, printed as compilers do: "file:line: warning: message".
struct import_diagnostic {
    source_position where;
    severity level = severity::warning;
    std::string message;
};

std::string to_string(const import_diagnostic& diagnostic);

}  // namespace vigil::import
