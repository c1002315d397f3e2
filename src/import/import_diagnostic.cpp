#include "import/import_diagnostic.hpp"

namespace vigil::import {

std::string to_string(const import_diagnostic& diagnostic) {
    return diagnostic.where.file + ":" + std::to_string(diagnostic.where.line) + ": " +
           (diagnostic.level == severity::error ? "error: " : "warning: ") + diagnostic.message;
}

}  // namespace vigil::import
