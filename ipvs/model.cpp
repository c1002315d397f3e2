#include "ipvs/model.hpp"

#include <charconv>
#include <tuple>

namespace vigil::ipvs {

service_key service_key::for_address(protocol p, const ip_endpoint& endpoint) {
    service_key key;
    key.family = endpoint.family();
    key.proto = p;
    key.address = endpoint.address;
    key.port = endpoint.port;
    return key;
}

service_key service_key::for_fwmark(std::uint32_t mark, address_family family) {
    service_key key;
    key.family = family;
    key.fwmark = mark;
    // An unspecified address of the right family, so keys built here equal keys from a dump.
    key.address = family == address_family::ipv4 ? ip_address(boost::asio::ip::address_v4())
                                                 : ip_address(boost::asio::ip::address_v6());
    return key;
}

namespace {
// A fwmark service is identified by mark and family alone; the kernel ignores its protocol,
// address and port, so they must not make two keys differ.
auto identity(const service_key& k) {
    return k.is_fwmark() ? std::tuple(k.family, k.fwmark, protocol::tcp, ip_address(), 0)
                         : std::tuple(k.family, 0U, k.proto, k.address, int{k.port});
}
}  // namespace

bool operator==(const service_key& a, const service_key& b) {
    return identity(a) == identity(b);
}

bool operator<(const service_key& a, const service_key& b) {
    return identity(a) < identity(b);
}

std::string to_string(const service_key& key) {
    if (key.is_fwmark()) {
        return "fwmark " + std::to_string(key.fwmark) +
               (key.family == address_family::ipv4 ? " ipv4" : " ipv6");
    }
    return std::string(to_string(key.proto)) + " " + to_string(ip_endpoint{key.address, key.port});
}

std::optional<service_key> parse_service_key(std::string_view text) {
    auto space = text.find(' ');
    if (space == std::string_view::npos) {
        return std::nullopt;
    }
    auto head = text.substr(0, space);
    auto rest = text.substr(space + 1);
    if (head == "fwmark") {
        auto gap = rest.find(' ');
        if (gap == std::string_view::npos) {
            return std::nullopt;
        }
        std::uint32_t mark = 0;
        auto number = rest.substr(0, gap);
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), mark);
        if (ec != std::errc() || end != number.data() + number.size() || mark == 0) {
            return std::nullopt;
        }
        auto family = rest.substr(gap + 1);
        if (family == "ipv4") {
            return service_key::for_fwmark(mark, address_family::ipv4);
        }
        if (family == "ipv6") {
            return service_key::for_fwmark(mark, address_family::ipv6);
        }
        return std::nullopt;
    }
    auto proto = parse_name(head, all_protocols);
    auto endpoint = parse_endpoint(rest);
    if (!proto || !endpoint) {
        return std::nullopt;
    }
    return service_key::for_address(*proto, *endpoint);
}

bool service::same_settings(const service& other) const {
    return scheduler == other.scheduler &&
           (flags & service_flags::user_mask) == (other.flags & service_flags::user_mask) &&
           timeout == other.timeout && netmask == other.netmask;
}

forward_method to_forward_method(forwarding f) {
    switch (f) {
        case forwarding::nat:
            return forward_method::masq;
        case forwarding::dr:
            return forward_method::route;
        case forwarding::tun:
            return forward_method::tunnel;
    }
    return forward_method::masq;
}

std::string_view to_string(forward_method m) {
    switch (m) {
        case forward_method::masq:
            return "masq";
        case forward_method::local:
            return "local";
        case forward_method::tunnel:
            return "tunnel";
        case forward_method::route:
            return "route";
        case forward_method::bypass:
            return "bypass";
    }
    return "?";
}

bool destination::same_settings(const destination& other) const {
    // The kernel reports `local` for a destination on one of its own addresses whatever was
    // asked, so `local` matches any method; otherwise every resync would "repair" it again.
    bool forward_ok = forward == other.forward || forward == forward_method::local ||
                      other.forward == forward_method::local;
    return forward_ok && weight == other.weight && upper_threshold == other.upper_threshold &&
           lower_threshold == other.lower_threshold;
}

}  // namespace vigil::ipvs
