#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/file_source.hpp"
#include "config/model.hpp"

namespace vigil::config {

struct load_result {
    std::optional<configuration> config;  // set only when there are no diagnostics
    std::vector<diagnostic> diagnostics;  // every problem found, in file and position order
};

// Reads the main file and every file its include globs match, and validates all of it. Never
// throws; a config with any diagnostic is refused whole.
load_result load_configuration(const std::string& main_file);
// The same from `files` instead of the filesystem (tests, the fuzzer).
load_result load_configuration(const std::string& main_file, const file_source& files);

}  // namespace vigil::config
