#pragma once

#include <string_view>

namespace vigil {

inline constexpr std::string_view version = VIGIL_VERSION;

}  // namespace vigil
