#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/import_diagnostic.hpp"
#include "import/keepalived_parser.hpp"

namespace vigil::import {

using milliseconds = std::chrono::milliseconds;

// What the translation of every block shares: the warnings, the value readers that warn about
// what they cannot read, and the lookup of programs named without a path.
class translation_context {
  public:
    using program_finder = std::function<std::optional<std::string>(std::string_view)>;

    explicit translation_context(program_finder find_program)
        : find_program_(std::move(find_program)) {}

    void warn(const keepalived_statement& s, std::string message);
    // "'smtp_alert' is not translated: <why>"
    void not_translated(const keepalived_statement& s, std::string_view why = {});

    // The statement's argument `index`, or nothing (with a warning) when it is missing.
    std::optional<std::string> argument(const keepalived_statement& s, std::size_t index = 0);
    std::optional<std::int64_t> integer(const keepalived_statement& s, std::int64_t min,
                                        std::int64_t max);
    // keepalived's timers: seconds with up to millisecond decimals ("3", "0.5").
    std::optional<milliseconds> seconds(const keepalived_statement& s, milliseconds min,
                                        milliseconds max);

    // argv from a keepalived script string, its program made absolute (keepalived searches
    // PATH; vigil runs only absolute paths). Nothing, with a warning, when it cannot be.
    std::optional<std::vector<std::string>> command(const keepalived_statement& s,
                                                    std::string_view script);

    std::vector<import_diagnostic> take_warnings() { return std::move(warnings_); }
    // For a block translated again (a virtual_server group's body, once per member): warnings
    // from `count` on that repeat an earlier one (same place, same words) are dropped.
    std::size_t warning_count() const { return warnings_.size(); }
    void forget_repeated_warnings_from(std::size_t count);

  private:
    program_finder find_program_;
    std::vector<import_diagnostic> warnings_;
};

std::optional<milliseconds> parse_seconds(std::string_view text);
// "5s", "1500ms": the shortest form vigil reads back exactly.
std::string duration_text(milliseconds value);
std::string lower(std::string_view text);
// letters, digits, '_', '-', '.', at most 64: vigil's rule for names.
bool valid_vigil_name(std::string_view name);
std::string vigil_name(std::string_view name);

}  // namespace vigil::import
