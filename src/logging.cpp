#include "logging.hpp"

#include <unistd.h>

namespace vigil {

parse_result<std::unique_ptr<log_sink>> make_log_sink(const config::log_settings& settings) {
    log_format format = log_format::json;
    if (settings.format == config::log_format_choice::text ||
        (settings.format == config::log_format_choice::automatic && settings.target == "stderr" &&
         ::isatty(STDERR_FILENO) == 1)) {
        format = log_format::text;
    }
    if (settings.target == "stderr") {
        return make_fd_sink(STDERR_FILENO, format);
    }
    if (settings.target == "syslog") {
        return make_syslog_sink(format);
    }
    return make_file_sink(settings.target, format);
}

}  // namespace vigil
