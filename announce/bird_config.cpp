#include "announce/bird_config.hpp"

namespace vigil::announce {
using vigil::to_string;

std::string render_bird_config(const std::vector<rendered_route>& routes,
                               const std::string& liveness_interface) {
    std::string out =
        "# Written by vigil: the prefixes this director announces. vigil replaces this file\n"
        "# whole; export its routes with `proto ~ \"vigil_*\"` (see vigil's README, BGP).\n";
    for (const auto& route : routes) {
        const auto& spec = *route.spec;
        out += "protocol static " + spec.protocol + " {\n";
        out += spec.prefix.family() == address_family::ipv6 ? "    ipv6;\n" : "    ipv4;\n";
        if (!route.announced) {
            out += "    disabled yes;\n";
        }
        out += "    route " + to_string(spec.prefix.address) + "/" +
               std::to_string(spec.prefix.length) + " via \"" + liveness_interface + "\" {\n";
        out += "        bgp_med = " + std::to_string(route.med) + ";\n";
        for (const auto& c : spec.communities) {
            if (c.large) {
                out += "        bgp_large_community.add((" + std::to_string(c.global) + ", " +
                       std::to_string(c.local1) + ", " + std::to_string(c.local2) + "));\n";
            } else {
                out += "        bgp_community.add((" + std::to_string(c.global) + ", " +
                       std::to_string(c.local1) + "));\n";
            }
        }
        out += "    };\n}\n";
    }
    return out;
}

}  // namespace vigil::announce
