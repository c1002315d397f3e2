#include "ipvs/operation.hpp"

namespace vigil::ipvs {

std::string_view to_string(op_kind kind) {
    switch (kind) {
        case op_kind::add_service:
            return "add_service";
        case op_kind::edit_service:
            return "edit_service";
        case op_kind::delete_service:
            return "delete_service";
        case op_kind::add_destination:
            return "add_destination";
        case op_kind::edit_destination:
            return "edit_destination";
        case op_kind::delete_destination:
            return "delete_destination";
    }
    return "?";
}

std::string describe(const operation& op) {
    std::string text(to_string(op.kind));
    text += ' ';
    text += to_string(op.svc.key);
    switch (op.kind) {
        case op_kind::add_service:
        case op_kind::edit_service:
            text += " scheduler " + op.svc.scheduler + " flags " + std::to_string(op.svc.flags) +
                    " timeout " + std::to_string(op.svc.timeout) + " netmask " +
                    std::to_string(op.svc.netmask);
            break;
        case op_kind::delete_service:
            break;
        case op_kind::add_destination:
        case op_kind::edit_destination:
            text += " -> " + to_string(op.dest.address) + ' ' +
                    std::string(to_string(op.dest.forward)) + " weight " +
                    std::to_string(op.dest.weight) + " thresholds " +
                    std::to_string(op.dest.lower_threshold) + ".." +
                    std::to_string(op.dest.upper_threshold);
            break;
        case op_kind::delete_destination:
            text += " -> " + to_string(op.dest.address);
            break;
    }
    return text;
}

}  // namespace vigil::ipvs
