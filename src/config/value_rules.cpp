#include "config/value_rules.hpp"

#include <algorithm>
#include <cstdint>

namespace vigil::config {

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > max_name_length) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

bool valid_interface_name(std::string_view name) {
    if (name.empty() || name.size() > 15 || name == "." || name == "..") {
        return false;
    }
    return std::none_of(name.begin(), name.end(), [](char c) {
        return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
    });
}

bool printable_without_space(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > ' ' && u != 0x7f;
    });
}

std::string in_quotes(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string first_at(const location& where) {
    return " (first at " + to_string(where) + ")";
}

std::optional<ip_address> read_address(table_reader& reader, std::string_view key) {
    auto text = reader.string(key);
    if (!text) {
        return std::nullopt;
    }
    auto address = parse_address(*text);
    if (!address) {
        reader.error(key, rule::bad_address, address.error());
        return std::nullopt;
    }
    return *address;
}

std::optional<std::vector<std::string>> read_argv(table_reader& reader, std::string_view key) {
    const auto* array = reader.array(key);
    if (!array) {
        return std::nullopt;
    }
    std::vector<std::string> argv;
    bool ok = true;
    for (const auto& item : *array) {
        if (const auto* arg = item.as_string()) {
            argv.push_back(arg->get());
        } else {
            reader.error_at(
                item, key, rule::wrong_type,
                "expected argument strings, got " + std::string(type_name(item.type())));
            ok = false;
        }
    }
    if (array->empty()) {
        reader.error(key, rule::missing_key, "is empty: give the program and its arguments");
        return std::nullopt;
    }
    if (!argv.empty() && (argv.front().empty() || argv.front().front() != '/')) {
        reader.error(key, rule::bad_value,
                     in_quotes(argv.front()) +
                         " is not an absolute path: a daemon's PATH is not "
                         "the operator's");
        return std::nullopt;
    }
    return ok ? std::optional(argv) : std::nullopt;
}

std::optional<int> read_weight(table_reader& reader) {
    if (auto weight = reader.integer("weight", -253, 253)) {
        return static_cast<int>(*weight);
    }
    return std::nullopt;
}

namespace {

// The number after an endpoint's last ':' ("[2001:db8::1]:80" too), when it is all digits.
std::optional<std::uint64_t> numeric_port(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(']', colon) != std::string_view::npos) {
        return std::nullopt;
    }
    auto digits = text.substr(colon + 1);
    if (digits.empty() || digits.size() > 10 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::uint64_t port = 0;
    for (char c : digits) {
        port = port * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return port;
}

}  // namespace

std::optional<ip_endpoint> read_endpoint(table_reader& reader, std::string_view key,
                                         port_rule ports) {
    auto text = reader.string(key);
    if (!text) {
        return std::nullopt;
    }
    if (auto port = numeric_port(*text); ports == port_rule::service && port && *port > 65535) {
        reader.error(key, rule::out_of_range,
                     "port " + std::to_string(*port) + " is not a service port (1 to 65535)");
        return std::nullopt;
    }
    auto endpoint = parse_endpoint(*text);
    if (!endpoint) {
        reader.error(key, rule::bad_address, endpoint.error());
        return std::nullopt;
    }
    return *endpoint;
}

std::optional<user_lookup> read_user(table_reader& reader, std::string_view user_key,
                                     std::string_view group_key) {
    auto user = reader.string(user_key);
    auto group = reader.string(group_key);
    if (group && !user) {
        reader.error(group_key, rule::missing_key,
                     "needs " + std::string(user_key) + ", the user to run as in this group");
        return std::nullopt;
    }
    if (!user) {
        return std::nullopt;
    }
    auto& users = reader.file().users();
    // The user alone first, so that an unknown user is reported at the user, not its group.
    const auto& found = users.look_up(*user, std::nullopt);
    if (!found.found()) {
        reader.error(user_key, rule::unknown_user, found.error);
        return std::nullopt;
    }
    if (!group) {
        return found;
    }
    const auto& in_group = users.look_up(*user, group);
    if (!in_group.found()) {
        reader.error(group_key, rule::unknown_user, in_group.error);
        return std::nullopt;
    }
    return in_group;
}

}  // namespace vigil::config
