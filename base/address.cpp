#include "base/address.hpp"

#include <charconv>

namespace vigil {

address_family family_of(const ip_address& address) {
    return address.is_v6() ? address_family::ipv6 : address_family::ipv4;
}

std::string_view to_string(address_family family) {
    return family == address_family::ipv6 ? "IPv6" : "IPv4";
}

namespace {

template <class Int>
bool parse_decimal(std::string_view text, Int& out) {
    if (text.empty() || text.size() > 10) {
        return false;
    }
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

parse_result<ip_address> parse_address(std::string_view text) {
    if (text.empty()) {
        return parse_result<ip_address>::failure("empty address");
    }
    if (text.find('%') != std::string_view::npos) {
        return parse_result<ip_address>::failure("\"" + std::string(text) +
                                                 "\": zone ids are not supported");
    }
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(std::string(text), ec);
    if (ec) {
        return parse_result<ip_address>::failure("\"" + std::string(text) +
                                                 "\" is not an IPv4 or IPv6 address");
    }
    return address;
}

parse_result<ip_endpoint> parse_endpoint(std::string_view text) {
    auto fail = [&](std::string why) {
        return parse_result<ip_endpoint>::failure("\"" + std::string(text) + "\" " + why);
    };
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) {
            return fail("has no closing ']'");
        }
        host = text.substr(1, close - 1);
        auto rest = text.substr(close + 1);
        if (rest.empty() || rest.front() != ':') {
            return fail("needs a port: write [address]:port");
        }
        port = rest.substr(1);
        auto address = parse_address(host);
        if (!address || !address->is_v6()) {
            return fail("has no IPv6 address inside the brackets");
        }
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return fail("needs a port: write address:port");
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return fail("is an IPv6 address without brackets: write [address]:port");
        }
    }
    auto address = parse_address(host);
    if (!address) {
        return fail("is not address:port: " + address.error());
    }
    unsigned port_number = 0;
    if (!parse_decimal(port, port_number) || port_number > 65535) {
        return fail("has an invalid port \"" + std::string(port) + "\" (0 to 65535)");
    }
    return ip_endpoint{*address, static_cast<std::uint16_t>(port_number)};
}

parse_result<ip_prefix> parse_prefix(std::string_view text) {
    auto slash = text.find('/');
    auto address = parse_address(text.substr(0, slash));
    if (!address) {
        return parse_result<ip_prefix>::failure(address.error());
    }
    unsigned max_length = address->is_v6() ? 128 : 32;
    if (slash == std::string_view::npos) {
        return ip_prefix{*address, max_length};
    }
    unsigned length = 0;
    if (!parse_decimal(text.substr(slash + 1), length) || length > max_length) {
        return parse_result<ip_prefix>::failure("\"" + std::string(text) +
                                                "\" has an invalid prefix length (0 to " +
                                                std::to_string(max_length) + ")");
    }
    return ip_prefix{*address, length};
}

std::string to_string(const ip_address& address) {
    return address.to_string();
}

std::string to_string(const ip_endpoint& endpoint) {
    auto port = std::to_string(endpoint.port);
    if (endpoint.address.is_v6()) {
        return "[" + endpoint.address.to_string() + "]:" + port;
    }
    return endpoint.address.to_string() + ":" + port;
}

std::string to_string(const ip_prefix& prefix) {
    return prefix.address.to_string() + "/" + std::to_string(prefix.length);
}

}  // namespace vigil
