#pragma once

#include <string>
#include <string_view>

#include "ipvs/model.hpp"

namespace vigil::ipvs {

enum class op_kind {
    add_service,
    edit_service,
    delete_service,
    add_destination,
    edit_destination,
    delete_destination,
};
std::string_view to_string(op_kind kind);

// One change to the kernel table: exactly what one IPVS netlink command carries. Service
// operations ignore `dest`; destination operations use `svc.key` to name the service.
struct operation {
    op_kind kind = op_kind::add_service;
    service svc;
    destination dest;

    bool is_service_op() const {
        return kind == op_kind::add_service || kind == op_kind::edit_service ||
               kind == op_kind::delete_service;
    }
};

// "add_destination tcp 192.0.2.1:80 -> 10.0.0.2:80 masq weight 3": for events and test output.
std::string describe(const operation& op);

}  // namespace vigil::ipvs
