#include "import/virtual_server_group.hpp"

#include <cstdint>

#include "base/address.hpp"

namespace vigil::import {

namespace {

constexpr std::uint64_t max_range = 256;

std::optional<std::uint32_t> ipv4(std::string_view text) {
    auto address = parse_address(text);
    if (!address || !address->is_v4()) {
        return std::nullopt;
    }
    return address->to_v4().to_uint();
}

// The IPv4 addresses a keepalived range names, or nothing when it is not a range it can expand.
std::optional<std::pair<std::uint32_t, std::uint32_t>> ipv4_range(std::string_view text) {
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        auto base = ipv4(text.substr(0, slash));
        auto length_text = text.substr(slash + 1);
        if (!base || length_text.empty() || length_text.size() > 2) {
            return std::nullopt;
        }
        unsigned length = 0;
        for (char c : length_text) {
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            length = length * 10 + static_cast<unsigned>(c - '0');
        }
        if (length > 32) {
            return std::nullopt;
        }
        std::uint32_t mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
        return std::pair{*base & mask, (*base & mask) | ~mask};
    }
    auto dash = text.find('-');
    auto first = ipv4(text.substr(0, dash));
    if (!first) {
        return std::nullopt;
    }
    auto end_text = text.substr(dash + 1);
    if (auto last = ipv4(end_text)) {
        return std::pair{*first, *last};
    }
    if (end_text.empty() || end_text.size() > 3) {
        return std::nullopt;
    }
    std::uint32_t octet = 0;
    for (char c : end_text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        octet = octet * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (octet > 255) {
        return std::nullopt;
    }
    return std::pair{*first, (*first & 0xffffff00u) | octet};
}

}  // namespace

std::vector<virtual_server_group_member> expand_virtual_server_group(
    const keepalived_statement& group, translation_context& context) {
    std::vector<virtual_server_group_member> members;
    for (const auto& line : group.block) {
        if (line.keyword == "fwmark") {
            if (line.arguments.empty()) {
                context.warn(line, "fwmark without a mark: skipped");
                continue;
            }
            members.push_back({{"fwmark", line.arguments[0]},
                               line.arguments.size() > 1 ? line.arguments[1] : std::string(),
                               line.where});
            continue;
        }
        if (line.arguments.empty()) {
            context.warn(line, "virtual_server_group member " + line.keyword +
                                   " has no port; vigil needs one (or a fwmark): skipped");
            continue;
        }
        const auto& port = line.arguments[0];
        if (parse_address(line.keyword)) {
            members.push_back({{line.keyword, port}, {}, line.where});
            continue;
        }
        auto range = ipv4_range(line.keyword);
        if (!range) {
            context.warn(line, "virtual_server_group member '" + line.keyword +
                                   "' is not an address or an IPv4 range vigil can expand: "
                                   "skipped");
            continue;
        }
        auto [first, last] = *range;
        if (last < first || std::uint64_t{last} - first + 1 > max_range) {
            context.warn(line, "virtual_server_group range " + line.keyword +
                                   " is empty or holds more than " + std::to_string(max_range) +
                                   " addresses: skipped");
            continue;
        }
        for (std::uint64_t a = first; a <= last; ++a) {
            auto address = boost::asio::ip::address_v4(static_cast<std::uint32_t>(a));
            members.push_back({{address.to_string(), port}, {}, line.where});
        }
    }
    return members;
}

}  // namespace vigil::import
