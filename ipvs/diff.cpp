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

void diff_destination(const service& svc, const destination* want, const destination* have,
                      std::vector<operation>& out) {
    if (want && !have) {
        out.push_back(destination_op(op_kind::add_destination, svc, *want));
    } else if (!want && have) {
        out.push_back(destination_op(op_kind::delete_destination, svc, *have));
    } else if (want && have && !want->same_settings(*have)) {
        out.push_back(destination_op(op_kind::edit_destination, svc, *want));
    }
}

void diff_service(const service_entry* want, const service_entry* have, bool owned,
                  std::vector<operation>& out) {
    if (!want) {
        if (have && owned) {
            out.push_back(service_op(op_kind::delete_service, have->settings));
        }
        return;
    }
    if (!have) {
        out.push_back(service_op(op_kind::add_service, want->settings));
        for (const auto& [address, dest] : want->destinations) {
            out.push_back(destination_op(op_kind::add_destination, want->settings, dest));
        }
        return;
    }
    if (!want->settings.same_settings(have->settings)) {
        out.push_back(service_op(op_kind::edit_service, want->settings));
    }
    for (const auto& [address, dest] : have->destinations) {
        if (!want->destinations.contains(address)) {
            out.push_back(destination_op(op_kind::delete_destination, want->settings, dest));
        }
    }
    for (const auto& [address, dest] : want->destinations) {
        auto current = have->destinations.find(address);
        if (current != have->destinations.end() && !dest.same_settings(current->second)) {
            out.push_back(destination_op(op_kind::edit_destination, want->settings, dest));
        }
    }
    for (const auto& [address, dest] : want->destinations) {
        if (!have->destinations.contains(address)) {
            out.push_back(destination_op(op_kind::add_destination, want->settings, dest));
        }
    }
}

std::vector<operation> diff(const table& desired, const table& actual,
                            const std::set<service_key>& owned) {
    std::vector<operation> ops;
    for (const auto& [key, entry] : actual) {
        if (!desired.contains(key)) {
            diff_service(nullptr, &entry, owned.contains(key), ops);
        }
    }
    for (const auto& [key, want] : desired) {
        auto found = actual.find(key);
        diff_service(&want, found == actual.end() ? nullptr : &found->second, true, ops);
    }
    return ops;
}

}  // namespace vigil::ipvs
