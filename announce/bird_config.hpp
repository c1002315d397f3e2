#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "announce/announcement.hpp"

namespace vigil::announce {

// One prefix as the include file states it: announced (enabled) or withdrawn (`disabled yes`),
// with the MED it carries now.
struct rendered_route {
    const announcement_spec* spec = nullptr;
    bool announced = false;
    std::uint32_t med = 0;
};

// The text of the file BIRD includes: one static protocol per prefix, its route via the liveness
// interface (so the route dies with vigil's TUN device), MED and communities set as route
// attributes. A withdrawn prefix keeps its protocol, disabled, so `show protocols` still lists it.
// Pure: the same routes give the same bytes, which lets the shell skip a `configure` that would
// change nothing.
std::string render_bird_config(const std::vector<rendered_route>& routes,
                               const std::string& liveness_interface);

}  // namespace vigil::announce
