#include "vrrp/socket.hpp"

#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "vrrp/packet.hpp"

namespace vigil::vrrp {

namespace {

// DSCP CS6 (network control), what keepalived puts in the TOS / traffic class of adverts.
constexpr int network_control_tos = 0xc0;
constexpr int receive_buffer_bytes = 1 << 20;
// Datagrams read per readiness before the loop runs other handlers (timers among them).
constexpr unsigned datagrams_per_turn = 32;
// Datagrams a late timer reads before acting: enough for every peer's pending adverts, bounded
// so a flood cannot stall the instance.
constexpr unsigned datagrams_per_drain = 64;

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

template <class T>
bool set_option(int fd, int level, int name, const T& value) {
    return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

}  // namespace

struct vrrp_socket::shared_state {
    explicit shared_state(boost::asio::any_io_executor executor)
        : descriptor(std::move(executor)) {}
    boost::asio::posix::stream_descriptor descriptor;
    address_family family = address_family::ipv4;
    int ifindex = 0;
    packet_handler on_packet;
    malformed_handler on_malformed;
    bool reading = false;
};

namespace {

// Hands at most `limit` queued datagrams to the handlers, then returns to the loop even when more
// are waiting: a steady flood of packets must not keep a master's advert timer from running.
void read_some(vrrp_socket::shared_state& state, unsigned limit) {
    std::array<std::uint8_t, 2048> buffer{};
    std::array<std::uint8_t, 256> control{};
    for (unsigned handled = 0; handled < limit;) {
        sockaddr_in6 from{};
        iovec vector{buffer.data(), buffer.size()};
        msghdr message{};
        message.msg_name = &from;
        message.msg_namelen = sizeof from;
        message.msg_iov = &vector;
        message.msg_iovlen = 1;
        message.msg_control = control.data();
        message.msg_controllen = control.size();
        auto n = ::recvmsg(state.descriptor.native_handle(), &message, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;  // EAGAIN: nothing more; other errors surface on the next wait
        }
        ++handled;
        std::span<const std::uint8_t> datagram(buffer.data(), static_cast<std::size_t>(n));
        if ((message.msg_flags & MSG_TRUNC) != 0) {
            state.on_malformed("ip_truncated");
            continue;
        }
        if (state.family == address_family::ipv4) {
            auto split = split_ipv4_datagram(datagram);
            if (!split.has_value()) {
                state.on_malformed(to_string(split.error()));
                continue;
            }
            state.on_packet(inbound_packet{split->payload, ip_address(split->source),
                                           ip_address(split->destination), split->ttl});
            continue;
        }
        // IPv6 raw sockets deliver no header: the hop limit and destination come as ancillary data.
        int hop_limit = -1;
        std::optional<ip_address> destination;
        for (auto* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
            if (c->cmsg_level != IPPROTO_IPV6) {
                continue;
            }
            if (c->cmsg_type == IPV6_HOPLIMIT) {
                std::memcpy(&hop_limit, CMSG_DATA(c), sizeof hop_limit);
            } else if (c->cmsg_type == IPV6_PKTINFO) {
                in6_pktinfo info{};
                std::memcpy(&info, CMSG_DATA(c), sizeof info);
                boost::asio::ip::address_v6::bytes_type bytes{};
                std::memcpy(bytes.data(), &info.ipi6_addr, 16);
                destination = ip_address(boost::asio::ip::address_v6(bytes));
            }
        }
        boost::asio::ip::address_v6::bytes_type source_bytes{};
        std::memcpy(source_bytes.data(), &from.sin6_addr, 16);
        if (!destination || hop_limit < 0) {
            state.on_malformed("ip_no_ancillary_data");
            continue;
        }
        state.on_packet(inbound_packet{datagram,
                                       ip_address(boost::asio::ip::address_v6(source_bytes)),
                                       *destination, hop_limit});
    }
}

void wait_readable(std::shared_ptr<vrrp_socket::shared_state> state) {
    auto& descriptor = state->descriptor;
    descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [state = std::move(state)](const boost::system::error_code& ec) mutable {
                              if (ec) {
                                  return;  // closed
                              }
                              read_some(*state, datagrams_per_turn);
                              wait_readable(std::move(state));
                          });
}

}  // namespace

std::unique_ptr<vrrp_socket> vrrp_socket::open(boost::asio::any_io_executor executor, int ifindex,
                                               const std::string& ifname, address_family family,
                                               std::string& error) {
    bool v6 = family == address_family::ipv6;
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ip_protocol_vrrp);
    if (fd < 0) {
        error = errno_text("cannot open a raw VRRP socket");
        return nullptr;
    }
    auto fail = [&](const char* what) {
        error = errno_text(what);
        ::close(fd);
        return nullptr;
    };
    // Only this interface's packets: several interfaces may run the same VRID.
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                     static_cast<socklen_t>(ifname.size())) != 0) {
        return fail("cannot bind the VRRP socket to its interface");
    }
    set_option(fd, SOL_SOCKET, SO_RCVBUF, receive_buffer_bytes);
    int ttl = vrrp_ttl;
    int off = 0;
    int on = 1;
    if (!v6) {
        ip_mreqn group{};
        group.imr_multiaddr.s_addr = htonl(0xe0000012);  // 224.0.0.18
        group.imr_ifindex = ifindex;
        if (!set_option(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl) ||
            !set_option(fd, IPPROTO_IP, IP_TTL, ttl) ||
            !set_option(fd, IPPROTO_IP, IP_MULTICAST_LOOP, off) ||
            !set_option(fd, IPPROTO_IP, IP_TOS, network_control_tos) ||
            // No DF bit, as keepalived's adverts: nothing to discover on a link-local packet.
            !set_option(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT) ||
            !set_option(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, group)) {
            return fail("cannot set up the IPv4 VRRP socket");
        }
        ip_mreqn interface {};
        interface.imr_ifindex = ifindex;
        if (!set_option(fd, IPPROTO_IP, IP_MULTICAST_IF, interface)) {
            return fail("cannot select the multicast interface");
        }
    } else {
        ipv6_mreq group{};
        group.ipv6mr_multiaddr =
            in6_addr{{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12}}};
        group.ipv6mr_interface = static_cast<unsigned>(ifindex);
        if (!set_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl) ||
            !set_option(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl) ||
            !set_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, off) ||
            !set_option(fd, IPPROTO_IPV6, IPV6_TCLASS, network_control_tos) ||
            !set_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex) ||
            !set_option(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, on) ||
            !set_option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, on) ||
            !set_option(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, group)) {
            return fail("cannot set up the IPv6 VRRP socket");
        }
    }
    auto state = std::make_shared<shared_state>(std::move(executor));
    state->descriptor.assign(fd);
    state->family = family;
    state->ifindex = ifindex;
    return std::unique_ptr<vrrp_socket>(new vrrp_socket(std::move(state), ifindex, family));
}

vrrp_socket::vrrp_socket(std::shared_ptr<shared_state> state, int ifindex, address_family family)
    : state_(std::move(state)), ifindex_(ifindex), family_(family) {}

vrrp_socket::~vrrp_socket() {
    boost::system::error_code ignored;
    state_->descriptor.close(ignored);
}

void vrrp_socket::start(packet_handler on_packet, malformed_handler on_malformed) {
    state_->on_packet = std::move(on_packet);
    state_->on_malformed = std::move(on_malformed);
    if (!state_->reading) {
        state_->reading = true;
        wait_readable(state_);
    }
}

void vrrp_socket::drain() {
    if (state_->on_packet) {
        read_some(*state_, datagrams_per_drain);
    }
}

std::optional<std::string> vrrp_socket::send(std::span<const std::uint8_t> payload,
                                             const ip_address& source,
                                             const ip_address& destination) {
    iovec vector{const_cast<std::uint8_t*>(payload.data()), payload.size()};
    msghdr message{};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    std::array<std::uint8_t, CMSG_SPACE(sizeof(in6_pktinfo))> control{};
    message.msg_control = control.data();
    sockaddr_in to4{};
    sockaddr_in6 to6{};
    // The source is given per packet (IP_PKTINFO / IPV6_PKTINFO) rather than by bind(): a bound
    // raw socket would only receive packets addressed to that one address.
    if (destination.is_v4()) {
        to4.sin_family = AF_INET;
        to4.sin_addr.s_addr = htonl(destination.to_v4().to_uint());
        message.msg_name = &to4;
        message.msg_namelen = sizeof to4;
        message.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
        auto* c = CMSG_FIRSTHDR(&message);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo info{};
        info.ipi_ifindex = ifindex_;
        info.ipi_spec_dst.s_addr = htonl(source.to_v4().to_uint());
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
    } else {
        to6.sin6_family = AF_INET6;
        auto bytes = destination.to_v6().to_bytes();
        std::memcpy(&to6.sin6_addr, bytes.data(), 16);
        to6.sin6_scope_id = static_cast<std::uint32_t>(ifindex_);
        message.msg_name = &to6;
        message.msg_namelen = sizeof to6;
        message.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
        auto* c = CMSG_FIRSTHDR(&message);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo info{};
        auto source_bytes = source.to_v6().to_bytes();
        std::memcpy(&info.ipi6_addr, source_bytes.data(), 16);
        info.ipi6_ifindex = static_cast<unsigned>(ifindex_);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
    for (;;) {
        auto n = ::sendmsg(state_->descriptor.native_handle(), &message, MSG_DONTWAIT);
        if (n >= 0) {
            return std::nullopt;
        }
        if (errno != EINTR) {
            return errno_text("sendmsg");
        }
    }
}

}  // namespace vigil::vrrp
