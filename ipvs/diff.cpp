#include "ipvs/diff.hpp"

namespace vigil::ipvs {

namespace {

operation service_op(op_kind kind, const service& svc) {
    operation op;
    op.kind = kind;
    op.svc = svc;
    op.svc.stats = {};
    return op;
}

operation destination_op(op_kind kind, const service& svc, const destination& dest) {
    operation op;
    op.kind = kind;
    op.svc.key = svc.key;
    op.dest = dest;
    op.dest.active_connections = op.dest.inactive_connections = op.dest.persistent_connections = 0;
    op.dest.stats = {};
    return op;
}

}  // namespace

std::vector<operation> diff(const table& desired, const table& actual,
                            const std::set<service_key>& owned) {
    std::vector<operation> ops;
    for (const auto& [key, entry] : actual) {
        if (owned.contains(key) && !desired.contains(key)) {
            ops.push_back(service_op(op_kind::delete_service, entry.settings));
        }
    }
    for (const auto& [key, want] : desired) {
        auto found = actual.find(key);
        if (found == actual.end()) {
            ops.push_back(service_op(op_kind::add_service, want.settings));
            for (const auto& [address, dest] : want.destinations) {
                ops.push_back(destination_op(op_kind::add_destination, want.settings, dest));
            }
            continue;
        }
        const auto& have = found->second;
        if (!want.settings.same_settings(have.settings)) {
            ops.push_back(service_op(op_kind::edit_service, want.settings));
        }
        for (const auto& [address, dest] : have.destinations) {
            if (!want.destinations.contains(address)) {
                ops.push_back(destination_op(op_kind::delete_destination, want.settings, dest));
            }
        }
        for (const auto& [address, dest] : want.destinations) {
            auto current = have.destinations.find(address);
            if (current != have.destinations.end() && !dest.same_settings(current->second)) {
                ops.push_back(destination_op(op_kind::edit_destination, want.settings, dest));
            }
        }
        for (const auto& [address, dest] : want.destinations) {
            if (!have.destinations.contains(address)) {
                ops.push_back(destination_op(op_kind::add_destination, want.settings, dest));
            }
        }
    }
    return ops;
}

}  // namespace vigil::ipvs
