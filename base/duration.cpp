#include "base/duration.hpp"

#include <cstdint>
#include <limits>

namespace vigil {

parse_result<duration> parse_duration(std::string_view text) {
    auto fail = [&](std::string why) {
        return parse_result<duration>::failure("\"" + std::string(text) + "\" " + why);
    };
    std::size_t i = 0;
    std::uint64_t whole = 0;
    std::uint64_t fraction = 0;
    std::uint64_t fraction_scale = 1;
    bool any_digit = false;
    constexpr std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() / 100;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
        any_digit = true;
        if (whole > limit) {
            return fail("is too long");
        }
    }
    if (i < text.size() && text[i] == '.') {
        ++i;
        bool fraction_digit = false;
        for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
            if (fraction_scale < 1'000'000'000) {
                fraction = fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
                fraction_scale *= 10;
            } else if (text[i] != '0') {
                return fail("has more precision than 1ms");
            }
            fraction_digit = true;
        }
        if (!fraction_digit) {
            return fail("is not a duration: a '.' needs digits after it");
        }
    }
    if (!any_digit) {
        return fail("is not a duration: write a number with a unit, e.g. \"250ms\", \"1.5s\"");
    }
    auto unit = text.substr(i);
    std::uint64_t unit_ms = 0;
    if (unit == "ms") {
        unit_ms = 1;
    } else if (unit == "s") {
        unit_ms = 1000;
    } else if (unit == "m") {
        unit_ms = 60'000;
    } else if (unit == "h") {
        unit_ms = 3'600'000;
    } else if (unit.empty()) {
        return fail("has no unit: add ms, s, m or h");
    } else {
        return fail("has an unknown unit \"" + std::string(unit) + "\" (ms, s, m or h)");
    }
    if (whole >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / unit_ms / 2) {
        return fail("is too long");
    }
    // fraction/fraction_scale of a unit must be a whole number of milliseconds.
    std::uint64_t fraction_units = fraction * unit_ms;
    if (fraction_units % fraction_scale != 0) {
        return fail("has more precision than 1ms");
    }
    auto ms = whole * unit_ms + fraction_units / fraction_scale;
    return duration{static_cast<duration::rep>(ms)};
}

std::string format_duration(duration d) {
    auto ms = d.count();
    struct unit {
        std::int64_t ms;
        const char* name;
    };
    for (auto [size, name] : {unit{3'600'000, "h"}, unit{60'000, "m"}}) {
        if (ms != 0 && ms % size == 0) {
            return std::to_string(ms / size) + name;
        }
    }
    if (ms != 0 && ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    if (ms >= 1000) {
        // Exact decimal seconds, trailing zeros dropped.
        auto text = std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
        while (text.back() == '0') {
            text.pop_back();
        }
        return text + "s";
    }
    return std::to_string(ms) + "ms";
}

}  // namespace vigil
