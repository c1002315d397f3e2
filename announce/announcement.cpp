#include "announce/announcement.hpp"

#include <charconv>

namespace vigil::announce {

bool parse_community(const std::string& text, community& out) {
    std::vector<std::uint64_t> parts;
    const char* p = text.data();
    const char* end = p + text.size();
    while (true) {
        std::uint64_t value = 0;
        auto [next, ec] = std::from_chars(p, end, value);
        if (ec != std::errc{} || next == p || value > 0xffffffffULL) {
            return false;
        }
        parts.push_back(value);
        p = next;
        if (p == end) {
            break;
        }
        if (*p != ':' || parts.size() == 3) {
            return false;
        }
        ++p;
    }
    if (parts.size() == 2) {
        if (parts[0] > 0xffff || parts[1] > 0xffff) {
            return false;
        }
        out = community{static_cast<std::uint32_t>(parts[0]), static_cast<std::uint32_t>(parts[1]),
                        0, false};
        return true;
    }
    if (parts.size() == 3) {
        out = community{static_cast<std::uint32_t>(parts[0]), static_cast<std::uint32_t>(parts[1]),
                        static_cast<std::uint32_t>(parts[2]), true};
        return true;
    }
    return false;
}

std::string to_string(const community& c) {
    auto text = std::to_string(c.global) + ":" + std::to_string(c.local1);
    if (c.large) {
        text += ":" + std::to_string(c.local2);
    }
    return text;
}

namespace {

std::vector<unsigned char> bytes_of(const ip_address& address) {
    if (address.is_v4()) {
        auto b = address.to_v4().to_bytes();
        return {b.begin(), b.end()};
    }
    auto b = address.to_v6().to_bytes();
    return {b.begin(), b.end()};
}

bool equal_bits(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b,
                unsigned length) {
    for (unsigned bit = 0; bit < length; ++bit) {
        unsigned mask = 0x80u >> (bit % 8);
        if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool prefix_contains(const ip_prefix& prefix, const ip_address& address) {
    if (prefix.address.is_v4() != address.is_v4()) {
        return false;
    }
    return equal_bits(bytes_of(prefix.address), bytes_of(address), prefix.length);
}

bool is_network(const ip_prefix& prefix) {
    auto bytes = bytes_of(prefix.address);
    for (unsigned bit = prefix.length; bit < bytes.size() * 8; ++bit) {
        if (bytes[bit / 8] & (0x80u >> (bit % 8))) {
            return false;
        }
    }
    return true;
}

std::string protocol_name(const std::string& virtual_server) {
    std::string name = "vigil_";
    for (char c : virtual_server) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        name += keep ? c : '_';
    }
    return name;
}

}  // namespace vigil::announce
