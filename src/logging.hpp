#pragma once

#include <memory>

#include "base/event_log.hpp"
#include "base/parse_result.hpp"
#include "config/model.hpp"

namespace vigil {

// Builds the sink the config asks for. "auto" means readable text when stderr is a terminal and
// JSON lines otherwise (journald, files, pipes).
parse_result<std::unique_ptr<log_sink>> make_log_sink(const config::log_settings& settings);

}  // namespace vigil
