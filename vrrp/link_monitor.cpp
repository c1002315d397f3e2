#include "vrrp/link_monitor.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace vigil::vrrp {

struct link_monitor::shared_state {
    shared_state(boost::asio::any_io_executor executor, event_handler e, resync_handler r)
        : descriptor(std::move(executor)), on_event(std::move(e)), on_resync(std::move(r)) {}
    boost::asio::posix::stream_descriptor descriptor;
    event_handler on_event;
    resync_handler on_resync;
};

link_monitor::link_monitor(boost::asio::any_io_executor executor, event_handler on_event,
                           resync_handler on_resync)
    : state_(std::make_shared<shared_state>(std::move(executor), std::move(on_event),
                                            std::move(on_resync))) {}

link_monitor::~link_monitor() {
    boost::system::error_code ignored;
    state_->descriptor.close(ignored);
}

namespace {

// The kernel's NLMSG_* / RTA_* / IFLA_* macros expand to C casts; they are the documented way to
// walk netlink messages, so the warning is silenced for this function only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wsign-conversion"
void parse_link_messages(const std::uint8_t* data, std::size_t length,
                         const link_monitor::event_handler& on_event) {
    auto remaining = static_cast<unsigned>(length);
    for (const auto* header = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(header, remaining);
         header = NLMSG_NEXT(header, remaining)) {
        if (header->nlmsg_type != RTM_NEWLINK && header->nlmsg_type != RTM_DELLINK) {
            continue;
        }
        const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(header));
        link_monitor::link_event event;
        event.index = info->ifi_index;
        event.up = (info->ifi_flags & IFF_UP) && (info->ifi_flags & IFF_RUNNING);
        event.removed = header->nlmsg_type == RTM_DELLINK;
        auto attributes_length = static_cast<unsigned>(IFLA_PAYLOAD(header));
        for (const auto* attribute = IFLA_RTA(info); RTA_OK(attribute, attributes_length);
             attribute = RTA_NEXT(attribute, attributes_length)) {
            if (attribute->rta_type == IFLA_IFNAME) {
                event.name = static_cast<const char*>(RTA_DATA(attribute));
            }
        }
        on_event(event);
    }
}
#pragma GCC diagnostic pop

void wait_for_messages(std::shared_ptr<link_monitor::shared_state> state);

}  // namespace

std::optional<std::string> link_monitor::start() {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        return std::string("cannot open rtnetlink socket: ") + std::strerror(errno);
    }
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    address.nl_groups = RTMGRP_LINK;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        auto error = std::string("cannot subscribe to link events: ") + std::strerror(errno);
        ::close(fd);
        return error;
    }
    state_->descriptor.assign(fd);
    wait_for_messages(state_);
    return std::nullopt;
}

namespace {

void wait_for_messages(std::shared_ptr<link_monitor::shared_state> state) {
    auto& descriptor = state->descriptor;
    descriptor.async_wait(
        boost::asio::posix::stream_descriptor::wait_read,
        [state = std::move(state)](const boost::system::error_code& ec) mutable {
            if (ec) {
                return;  // closed
            }
            std::uint8_t buffer[16384];
            for (;;) {
                auto n =
                    ::recv(state->descriptor.native_handle(), buffer, sizeof buffer, MSG_DONTWAIT);
                if (n > 0) {
                    parse_link_messages(buffer, static_cast<std::size_t>(n), state->on_event);
                    continue;
                }
                if (n < 0 && errno == ENOBUFS) {
                    // Events were lost: the caller must re-read link state.
                    state->on_resync();
                    continue;
                }
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                break;  // EAGAIN: all read
            }
            wait_for_messages(std::move(state));
        });
}

}  // namespace

}  // namespace vigil::vrrp
