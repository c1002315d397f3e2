#include "ipvs/netlink_backend.hpp"

#include <linux/ip_vs.h>

#include <cerrno>
#include <string_view>

namespace vigil::ipvs {

namespace {

std::error_code errno_code(int e) {
    return {e, std::generic_category()};
}

boost::system::error_code boost_errno(int e) {
    return {e, boost::system::generic_category()};
}

boost::system::error_code to_boost(std::error_code ec) {
    return boost_errno(ec.value());
}

}  // namespace

static_assert(std::string_view(IPVS_GENL_NAME) == "IPVS");

netlink_backend::open_result netlink_backend::open(netlink_limits limits, const char* family_name) {
    auto opened = netlink_transport::open(family_name, limits);
    if (!opened.transport) {
        if (opened.error_number == ENOENT) {
            return {nullptr,
                    "the kernel has no IPVS: generic netlink family \"" + std::string(family_name) +
                        "\" not found (" + opened.error +
                        "); load the ip_vs module (modprobe ip_vs) or use the memory backend only "
                        "for tests"};
        }
        return {nullptr, opened.error};
    }
    auto backend = std::make_unique<netlink_backend>(std::move(opened.transport));
    // Every IPVS command needs CAP_NET_ADMIN; find out now rather than at the first sync.
    auto probe = backend->info();
    if (!probe) {
        if (probe.error().value() == EPERM) {
            return {nullptr,
                    "IPVS refused the request (EPERM): vigil needs CAP_NET_ADMIN to program IPVS"};
        }
        return {nullptr, "IPVS does not answer: " + probe.error().message()};
    }
    return {std::move(backend), {}};
}

boost::system::result<table> netlink_backend::dump() {
    auto deadline = transport_->call_deadline();
    const auto family = transport_->family();
    table result;
    auto services = encode_service_dump(family);
    if (!services) {
        return boost_errno(EMSGSIZE);
    }
    auto ec = transport_->request(
        std::move(*services),
        [&](const netlink::reply& r) {
            auto s = decode_service(r.attributes);
            if (s) {
                result[s->key].settings = *s;
            }
            return s.has_value();
        },
        deadline);
    if (ec) {
        return to_boost(ec);
    }
    for (auto& item : result) {
        service_entry& entry = item.second;  // a plain reference: clang 14 cannot capture bindings
        auto destinations = encode_destination_dump(family, entry.settings);
        if (!destinations) {
            return boost_errno(EMSGSIZE);
        }
        ec = transport_->request(
            std::move(*destinations),
            [&, service_family = item.first.family](const netlink::reply& r) {
                auto d = decode_destination(r.attributes, service_family);
                if (d) {
                    entry.destinations[d->address] = *d;
                }
                return d.has_value();
            },
            deadline);
        if (ec) {
            return to_boost(ec);
        }
    }
    return result;
}

std::vector<std::error_code> netlink_backend::apply(std::span<const operation> ops) {
    auto deadline = transport_->call_deadline();
    std::vector<std::error_code> answers(ops.size());
    // Commands of one window travel in one datagram; the answers still come one per command.
    std::vector<netlink::bytes> batch;
    std::vector<std::size_t> batched;  // the operation index of each command in the batch
    std::vector<std::error_code> batch_answers;
    auto send_batch = [&] {
        batch_answers.assign(batch.size(), {});
        transport_->exchange(batch, batch_answers, deadline);
        for (std::size_t i = 0; i < batched.size(); ++i) {
            answers[batched[i]] = batch_answers[i];
        }
        batch.clear();
        batched.clear();
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
        auto message = encode_operation(transport_->family(), ops[i]);
        if (!message) {
            answers[i] = errno_code(EMSGSIZE);
            continue;
        }
        batch.push_back(std::move(*message));
        batched.push_back(i);
        if (batch.size() >= window_) {
            send_batch();
        }
    }
    if (!batch.empty()) {
        send_batch();
    }
    return answers;
}

boost::system::result<kernel_info> netlink_backend::info() {
    auto request = encode_info_request(transport_->family());
    if (!request) {
        return boost_errno(EMSGSIZE);
    }
    std::optional<kernel_info> result;
    auto ec = transport_->request(
        std::move(*request),
        [&](const netlink::reply& r) {
            result = decode_info(r.attributes);
            return result.has_value();
        },
        transport_->call_deadline());
    if (ec) {
        return to_boost(ec);
    }
    if (!result) {
        return boost_errno(EBADMSG);  // acknowledged without the information asked for
    }
    return *result;
}

boost::system::result<std::vector<sync_daemon>> netlink_backend::daemons() {
    auto request = encode_daemon_dump(transport_->family());
    if (!request) {
        return boost_errno(EMSGSIZE);
    }
    std::vector<sync_daemon> result;
    auto ec = transport_->request(
        std::move(*request),
        [&](const netlink::reply& r) {
            auto d = decode_daemon(r.attributes);
            if (d) {
                result.push_back(*d);
            }
            return d.has_value();
        },
        transport_->call_deadline());
    if (ec) {
        return to_boost(ec);
    }
    return result;
}

// One command, answered by an acknowledgement carrying the kernel's own errno.
std::error_code netlink_backend::command(std::optional<netlink::bytes> message) {
    if (!message) {
        return errno_code(EMSGSIZE);
    }
    return transport_->request(
        std::move(*message), [](const netlink::reply&) { return true; },
        transport_->call_deadline());
}

std::error_code netlink_backend::start_daemon(const sync_daemon& daemon) {
    return command(encode_daemon_start(transport_->family(), daemon));
}

std::error_code netlink_backend::stop_daemon(sync_role role) {
    return command(encode_daemon_stop(transport_->family(), role));
}

}  // namespace vigil::ipvs
