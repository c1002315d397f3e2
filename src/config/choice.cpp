#include "config/choice.hpp"

#include "config/value_rules.hpp"

namespace vigil::config {

std::string not_one_of(std::string_view text, std::span<const std::string_view> names,
                       std::string_view noun) {
    std::string out = in_quotes(text) + " is not ";
    if (!noun.empty()) {
        out += std::string(noun) + " (";
        for (std::size_t i = 0; i < names.size(); ++i) {
            out += (i == 0 ? "" : " ") + std::string(names[i]);
        }
        return out + ")";
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) {
            out += i + 1 == names.size() ? " or " : ", ";
        }
        out += names[i];
    }
    return out;
}

}  // namespace vigil::config
