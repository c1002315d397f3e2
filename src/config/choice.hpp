#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/toml_reader.hpp"

namespace vigil::config {

// One spelling an enumerated setting accepts and the value it stands for.
template <class T>
struct choice {
    std::string_view name;
    T value;
};

// The choices of an enumeration whose to_string already gives the config spelling of each value.
template <class Enum, std::size_t N>
std::array<choice<Enum>, N> choices_by_name(const std::array<Enum, N>& all) {
    std::array<choice<Enum>, N> out{};
    for (std::size_t i = 0; i < N; ++i) {
        out[i] = {to_string(all[i]), all[i]};
    }
    return out;
}

// What to say about text that is none of the names: "\"x\" is not a, b or c", or, given a noun
// for long lists, "\"x\" is not NOUN (a b c)".
std::string not_one_of(std::string_view text, std::span<const std::string_view> names,
                       std::string_view noun);

// Reads `key` as one of `choices`. Anything else is reported, naming every choice, and gives
// nothing; an absent key gives nothing silently.
template <class T, std::size_t N>
std::optional<T> read_choice(table_reader& reader, std::string_view key,
                             const std::array<choice<T>, N>& choices, std::string_view noun = {}) {
    auto text = reader.string(key);
    if (!text) {
        return std::nullopt;
    }
    std::array<std::string_view, N> names{};
    for (std::size_t i = 0; i < N; ++i) {
        if (choices[i].name == *text) {
            return choices[i].value;
        }
        names[i] = choices[i].name;
    }
    reader.error(key, rule::bad_value, not_one_of(*text, names, noun));
    return std::nullopt;
}

}  // namespace vigil::config
