#include "ipvs/memory_backend.hpp"

#include <climits>

namespace vigil::ipvs {

namespace {
std::error_code err(std::errc e) {
    return std::make_error_code(e);
}
}  // namespace

std::string_view to_string(sync_role role) {
    return role == sync_role::master ? "master" : "backup";
}

memory_backend::memory_backend() {
    // The schedulers Debian's 6.1 kernel ships as modules, loaded on demand (ip_vs_twos came
    // later, in 6.3).
    for (auto s : all_schedulers) {
        schedulers_.emplace(to_string(s));
    }
}

boost::system::result<table> memory_backend::dump() {
    ++dumps_;
    if (dump_failure_) {
        auto e = *dump_failure_;
        dump_failure_.reset();
        return boost::system::error_code(static_cast<int>(e), boost::system::generic_category());
    }
    return table_;
}

std::vector<std::error_code> memory_backend::apply(std::span<const operation> ops) {
    ++apply_calls_;
    std::vector<std::error_code> answers;
    answers.reserve(ops.size());
    for (const auto& op : ops) {
        answers.push_back(apply_one(op));
    }
    return answers;
}

void memory_backend::fail_when(std::function<bool(const operation&)> match, std::errc error,
                               int times) {
    failures_.push_back({std::move(match), error, times});
}

std::error_code memory_backend::apply_one(const operation& op) {
    for (auto& rule : failures_) {
        if (rule.times != 0 && rule.match(op)) {
            if (rule.times > 0) {
                --rule.times;
            }
            return err(rule.error);
        }
    }
    const auto& key = op.svc.key;
    auto svc = table_.find(key);
    if (op.kind == op_kind::add_service || op.kind == op_kind::edit_service) {
        // ip_vs_genl_parse_service, then ip_vs_add_service / ip_vs_edit_service.
        if (op.kind == op_kind::add_service && svc != table_.end()) {
            return err(std::errc::file_exists);
        }
        if (op.kind == op_kind::edit_service && svc == table_.end()) {
            return err(std::errc::no_such_process);
        }
        if (!schedulers_.contains(op.svc.scheduler)) {
            return err(std::errc::no_such_file_or_directory);
        }
        if (key.family == address_family::ipv6 && (op.svc.netmask < 1 || op.svc.netmask > 128)) {
            return err(std::errc::invalid_argument);
        }
        service settings = op.svc;
        settings.stats = {};
        settings.flags = (op.svc.flags & service_flags::user_mask) | service_flags::hashed;
        if (op.kind == op_kind::add_service) {
            table_[key].settings = settings;
        } else {
            settings.stats = svc->second.settings.stats;
            svc->second.settings = settings;
        }
        ++applied_;
        return {};
    }
    if (svc == table_.end()) {
        return err(std::errc::no_such_process);
    }
    if (op.kind == op_kind::delete_service) {
        table_.erase(svc);
        ++applied_;
        return {};
    }
    auto& dests = svc->second.destinations;
    auto dest = dests.find(op.dest.address);
    if (op.kind != op_kind::delete_destination) {
        // Mixed families are only forwardable by tunnelling, and the sync protocol cannot carry
        // them (ip_vs_genl_set_cmd).
        if (op.dest.address.family() != key.family &&
            (op.dest.forward != forward_method::tunnel || !daemons_.empty())) {
            return err(std::errc::invalid_argument);
        }
        // ip_vs_add_dest / ip_vs_edit_dest check weight and thresholds before the lookup.
        if (op.dest.weight > static_cast<std::uint32_t>(INT_MAX) ||
            op.dest.lower_threshold > op.dest.upper_threshold) {
            return err(std::errc::result_out_of_range);
        }
    }
    switch (op.kind) {
        case op_kind::add_destination:
            if (dest != dests.end()) {
                return err(std::errc::file_exists);
            }
            dests[op.dest.address] = op.dest;
            break;
        case op_kind::edit_destination:
            if (dest == dests.end()) {
                return err(std::errc::no_such_file_or_directory);
            }
            dest->second.forward = op.dest.forward;
            dest->second.weight = op.dest.weight;
            dest->second.upper_threshold = op.dest.upper_threshold;
            dest->second.lower_threshold = op.dest.lower_threshold;
            break;
        case op_kind::delete_destination:
            if (dest == dests.end()) {
                return err(std::errc::no_such_file_or_directory);
            }
            dests.erase(dest);
            break;
        default:
            break;
    }
    ++applied_;
    return {};
}

boost::system::result<std::vector<sync_daemon>> memory_backend::daemons() {
    return daemons_;
}

std::error_code memory_backend::start_daemon(const sync_daemon& daemon) {
    for (const auto& d : daemons_) {
        if (d.role == daemon.role) {
            return err(std::errc::file_exists);
        }
    }
    if (daemon.interface.empty()) {
        return err(std::errc::invalid_argument);
    }
    // ip_vs_genl_new_daemon: the sync protocol cannot carry mixed-family destinations.
    for (const auto& [key, entry] : table_) {
        for (const auto& [address, dest] : entry.destinations) {
            if (address.family() != key.family) {
                return err(std::errc::invalid_argument);
            }
        }
    }
    auto running = daemon;
    // What the kernel reports for defaults.
    if (running.port == 0) {
        running.port = 8848;
    }
    if (running.ttl == 0) {
        running.ttl = 1;
    }
    daemons_.push_back(running);
    return {};
}

std::error_code memory_backend::stop_daemon(sync_role role) {
    for (auto it = daemons_.begin(); it != daemons_.end(); ++it) {
        if (it->role == role) {
            daemons_.erase(it);
            return {};
        }
    }
    return err(std::errc::no_such_process);
}

}  // namespace vigil::ipvs
