#include "import/translation_context.hpp"

#include <algorithm>
#include <charconv>

namespace vigil::import {

void translation_context::warn(const keepalived_statement& s, std::string message) {
    warnings_.push_back({s.where, severity::warning, std::move(message)});
}

void translation_context::not_translated(const keepalived_statement& s, std::string_view why) {
    std::string message = "'" + s.keyword + "' is not translated";
    if (!why.empty()) {
        message += ": ";
        message += why;
    }
    warn(s, std::move(message));
}

void translation_context::forget_repeated_warnings_from(std::size_t count) {
    auto repeated = [&](const import_diagnostic& w) {
        return std::any_of(warnings_.begin(),
                           warnings_.begin() + static_cast<std::ptrdiff_t>(count),
                           [&](const import_diagnostic& earlier) {
                               return earlier.where == w.where && earlier.message == w.message;
                           });
    };
    warnings_.erase(std::remove_if(warnings_.begin() + static_cast<std::ptrdiff_t>(count),
                                   warnings_.end(), repeated),
                    warnings_.end());
}

std::optional<std::string> translation_context::argument(const keepalived_statement& s,
                                                         std::size_t index) {
    if (index < s.arguments.size()) {
        return s.arguments[index];
    }
    warn(s, "'" + s.keyword + "' has no value: ignored");
    return std::nullopt;
}

std::optional<std::int64_t> translation_context::integer(const keepalived_statement& s,
                                                         std::int64_t min, std::int64_t max) {
    auto text = argument(s);
    if (!text) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (error != std::errc() || end != text->data() + text->size() || value < min || value > max) {
        warn(s, "'" + s.keyword + " " + *text + "': expected an integer from " +
                    std::to_string(min) + " to " + std::to_string(max) + ": ignored");
        return std::nullopt;
    }
    return value;
}

std::optional<milliseconds> translation_context::seconds(const keepalived_statement& s,
                                                         milliseconds min, milliseconds max) {
    auto text = argument(s);
    if (!text) {
        return std::nullopt;
    }
    auto value = parse_seconds(*text);
    if (!value || *value < min || *value > max) {
        warn(s, "'" + s.keyword + " " + *text + "': expected seconds from " + duration_text(min) +
                    " to " + duration_text(max) + ": ignored");
        return std::nullopt;
    }
    return value;
}

std::optional<std::vector<std::string>> translation_context::command(const keepalived_statement& s,
                                                                     std::string_view script) {
    auto argv = split_command(script);
    if (argv.empty()) {
        warn(s, "'" + s.keyword + "' names no program: ignored");
        return std::nullopt;
    }
    if (argv.front().front() != '/') {
        auto found = find_program_ ? find_program_(argv.front()) : std::nullopt;
        if (!found) {
            warn(s, "'" + s.keyword + "': program '" + argv.front() +
                        "' is not an absolute path and is not in PATH here; vigil runs only "
                        "absolute paths: not translated");
            return std::nullopt;
        }
        argv.front() = *found;
    }
    return argv;
}

std::optional<milliseconds> parse_seconds(std::string_view text) {
    std::int64_t whole = 0;
    auto dot = text.find('.');
    auto integral = text.substr(0, dot);
    if (integral.empty() || integral.size() > 9) {
        return std::nullopt;
    }
    auto [end, error] = std::from_chars(integral.data(), integral.data() + integral.size(), whole);
    if (error != std::errc() || end != integral.data() + integral.size() || whole < 0) {
        return std::nullopt;
    }
    std::int64_t fraction = 0;
    if (dot != std::string_view::npos) {
        auto digits = text.substr(dot + 1);
        if (digits.empty() || digits.size() > 6 ||
            !std::all_of(digits.begin(), digits.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
        // Micro-seconds, rounded to the millisecond vigil resolves.
        std::string micro(digits);
        micro.resize(6, '0');
        fraction = (std::stoll(micro) + 500) / 1000;
    }
    return milliseconds(whole * 1000 + fraction);
}

std::string duration_text(milliseconds value) {
    auto ms = value.count();
    if (ms % 1000 == 0) {
        return std::to_string(ms / 1000) + "s";
    }
    return std::to_string(ms) + "ms";
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

bool valid_vigil_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

std::string vigil_name(std::string_view name) {
    std::string out;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        out += ok ? c : '_';
    }
    if (out.size() > 64) {
        out.resize(64);
    }
    return out.empty() ? "unnamed" : out;
}

}  // namespace vigil::import
