#include "config/diagnostic.hpp"

namespace vigil::config {

std::string_view to_string(rule r) {
    switch (r) {
        case rule::toml_syntax:
            return "toml-syntax";
        case rule::unreadable_file:
            return "unreadable-file";
        case rule::unknown_key:
            return "unknown-key";
        case rule::wrong_type:
            return "wrong-type";
        case rule::missing_key:
            return "missing-key";
        case rule::out_of_range:
            return "out-of-range";
        case rule::bad_address:
            return "bad-address";
        case rule::bad_duration:
            return "bad-duration";
        case rule::bad_value:
            return "bad-value";
        case rule::advert_interval:
            return "advert-interval";
        case rule::family_mismatch:
            return "family-mismatch";
        case rule::conflicting_keys:
            return "conflicting-keys";
        case rule::include_no_match:
            return "include-no-match";
        case rule::include_shape:
            return "include-shape";
        case rule::duplicate_instance_name:
            return "duplicate-instance-name";
        case rule::duplicate_vrid:
            return "duplicate-vrid";
        case rule::duplicate_virtual_server:
            return "duplicate-virtual-server";
        case rule::duplicate_real_server:
            return "duplicate-real-server";
        case rule::duplicate_check_name:
            return "duplicate-check-name";
        case rule::unknown_user:
            return "unknown-user";
        case rule::nothing_to_run:
            return "nothing-to-run";
    }
    return "?";
}

std::vector<rule> all_rules() {
    std::vector<rule> rules;
    for (int r = 0; r <= static_cast<int>(rule::nothing_to_run); ++r) {
        rules.push_back(static_cast<rule>(r));
    }
    return rules;
}

std::string to_string(const location& where) {
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

std::string to_string(const diagnostic& d) {
    return to_string(d.where) + ": error: " + d.message;
}

}  // namespace vigil::config
