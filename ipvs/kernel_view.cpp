#include "ipvs/kernel_view.hpp"

namespace vigil::ipvs {

void kernel_view::replace(ipvs::table dumped, time_point at) {
    table_ = std::move(dumped);
    dumped_at_ = at;
    acknowledged_ = 0;
}

void kernel_view::acknowledge(const operation& op) {
    ++acknowledged_;
    const auto& key = op.svc.key;
    switch (op.kind) {
        case op_kind::add_service: {
            auto& entry = table_[key];
            entry.settings = op.svc;
            entry.destinations.clear();
            return;
        }
        case op_kind::edit_service:
            if (auto it = table_.find(key); it != table_.end()) {
                // Counters stay what the last dump said; only the settings changed.
                auto stats = it->second.settings.stats;
                it->second.settings = op.svc;
                it->second.settings.stats = stats;
            }
            return;
        case op_kind::delete_service:
            table_.erase(key);
            return;
        default:
            break;
    }
    auto svc = table_.find(key);
    if (svc == table_.end()) {
        return;  // the kernel would have refused it; the next dump says what is there
    }
    auto& dests = svc->second.destinations;
    switch (op.kind) {
        case op_kind::add_destination:
            dests[op.dest.address] = op.dest;
            break;
        case op_kind::edit_destination:
            if (auto d = dests.find(op.dest.address); d != dests.end()) {
                d->second.forward = op.dest.forward;
                d->second.weight = op.dest.weight;
                d->second.upper_threshold = op.dest.upper_threshold;
                d->second.lower_threshold = op.dest.lower_threshold;
            }
            break;
        case op_kind::delete_destination:
            dests.erase(op.dest.address);
            break;
        default:
            break;
    }
}

}  // namespace vigil::ipvs
