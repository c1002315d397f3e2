#pragma once

// Reading the golden vectors in tests/data/vrrp (captured from keepalived): shared by the codec
// and announcement tests.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::vrrp::test {

using bytes = std::vector<std::uint8_t>;

inline bytes from_hex(std::string_view hex) {
    bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(
            static_cast<std::uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

inline std::string vector_path(const std::string& name) {
    return VIGIL_SOURCE_DIR "/tests/data/vrrp/" + name;
}

}  // namespace vigil::vrrp::test
