#include "ipvs/names.hpp"

namespace vigil::ipvs {

std::string_view to_string(scheduler s) {
    switch (s) {
        case scheduler::rr:
            return "rr";
        case scheduler::wrr:
            return "wrr";
        case scheduler::lc:
            return "lc";
        case scheduler::wlc:
            return "wlc";
        case scheduler::lblc:
            return "lblc";
        case scheduler::lblcr:
            return "lblcr";
        case scheduler::dh:
            return "dh";
        case scheduler::sh:
            return "sh";
        case scheduler::sed:
            return "sed";
        case scheduler::nq:
            return "nq";
        case scheduler::fo:
            return "fo";
        case scheduler::ovf:
            return "ovf";
        case scheduler::mh:
            return "mh";
    }
    return "?";
}

std::string_view to_string(forwarding f) {
    switch (f) {
        case forwarding::nat:
            return "nat";
        case forwarding::dr:
            return "dr";
        case forwarding::tun:
            return "tun";
    }
    return "?";
}

std::string_view to_string(protocol p) {
    switch (p) {
        case protocol::tcp:
            return "tcp";
        case protocol::udp:
            return "udp";
        case protocol::sctp:
            return "sctp";
    }
    return "?";
}

}  // namespace vigil::ipvs
