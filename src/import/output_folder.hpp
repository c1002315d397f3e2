#pragma once

#include <string>
#include <vector>

#include "import/keepalived_translator.hpp"

namespace vigil::import {

// Writes the translated files under `folder` (created when missing). A folder that already
// holds anything is refused unless `force`, so an import never mixes with or silently replaces
// a configuration. Returns an empty string on success, else what went wrong.
std::string write_output_folder(const std::string& folder,
                                const std::vector<translated_file>& files, bool force);

}  // namespace vigil::import
