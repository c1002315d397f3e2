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

std::string protocol_name(const std::string& virtual_server) {
    std::string name = "vigil_";
    for (char c : virtual_server) {
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        name += keep ? c : '_';
    }
    return name;
}

}  // namespace vigil::announce
