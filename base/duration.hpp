#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/parse_result.hpp"

namespace vigil {

// Every configured duration has millisecond resolution; the protocols need no finer.
using duration = std::chrono::milliseconds;

// "250ms", "1.5s", "2m", "1h": a non-negative decimal number followed by a unit. A bare number is
// refused because its unit would be a guess.
parse_result<duration> parse_duration(std::string_view text);

// The shortest exact spelling: 1500ms -> "1.5s", 120000ms -> "2m", 250ms -> "250ms".
std::string format_duration(duration d);

}  // namespace vigil
