#include "vrrp/announcement_sender.hpp"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace vigil::vrrp {

std::unique_ptr<announcement_sender> announcement_sender::open(int ifindex,
                                                               const std::string& ifname,
                                                               std::string& error) {
    int packet_fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (packet_fd < 0) {
        error =
            std::string("cannot open a packet socket for gratuitous ARP: ") + std::strerror(errno);
        return nullptr;
    }
    int icmp_fd = ::socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (icmp_fd < 0) {
        error = std::string("cannot open an ICMPv6 socket: ") + std::strerror(errno);
        ::close(packet_fd);
        return nullptr;
    }
    // Receive nothing on either: they only send.
    ::shutdown(packet_fd, SHUT_RD);
    icmp6_filter filter{};
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ::setsockopt(icmp_fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
    int hops = neighbour_advert_hop_limit;
    ::setsockopt(icmp_fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
    ::setsockopt(icmp_fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops);
    ::setsockopt(icmp_fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
    return std::unique_ptr<announcement_sender>(
        new announcement_sender(ifindex, ifname, packet_fd, icmp_fd));
}

announcement_sender::announcement_sender(int ifindex, std::string ifname, int packet_fd,
                                         int icmp_fd)
    : ifindex_(ifindex), ifname_(std::move(ifname)), packet_fd_(packet_fd), icmp_fd_(icmp_fd) {}

announcement_sender::~announcement_sender() {
    ::close(packet_fd_);
    ::close(icmp_fd_);
}

std::optional<std::string> announcement_sender::send_round(const mac_address& mac,
                                                           const std::vector<ip_prefix>& vips) {
    std::optional<std::string> first_error;
    auto note = [&](const char* what) {
        if (!first_error) {
            first_error = std::string(what) + ": " + std::strerror(errno);
        }
    };
    // keepalived sets the NA Router flag when the interface forwards IPv6; so do we.
    bool router = false;
    if (std::ifstream forwarding("/proc/sys/net/ipv6/conf/" + ifname_ + "/forwarding");
        forwarding) {
        int value = 0;
        forwarding >> value;
        router = value != 0;
    }
    for (const auto& vip : vips) {
        if (vip.address.is_v4()) {
            auto frame = gratuitous_arp_frame(mac, vip.address.to_v4());
            sockaddr_ll to{};
            to.sll_family = AF_PACKET;
            to.sll_protocol = htons(ETH_P_ARP);
            to.sll_ifindex = ifindex_;
            to.sll_halen = 6;
            std::memset(to.sll_addr, 0xff, 6);
            if (::sendto(packet_fd_, frame.data(), frame.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
                note("gratuitous ARP");
            }
            continue;
        }
        auto message = unsolicited_neighbour_advert(mac, vip.address.to_v6(), router);
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        auto group = all_nodes_multicast().to_bytes();
        std::memcpy(&to.sin6_addr, group.data(), 16);
        to.sin6_scope_id = static_cast<std::uint32_t>(ifindex_);
        iovec vector{message.data(), message.size()};
        msghdr header{};
        header.msg_name = &to;
        header.msg_namelen = sizeof to;
        header.msg_iov = &vector;
        header.msg_iovlen = 1;
        alignas(cmsghdr) std::uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
        {
            header.msg_control = control;
            header.msg_controllen = sizeof control;
            auto* c = CMSG_FIRSTHDR(&header);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
            in6_pktinfo info{};
            auto bytes = vip.address.to_v6().to_bytes();
            std::memcpy(&info.ipi6_addr, bytes.data(), 16);
            info.ipi6_ifindex = static_cast<unsigned>(ifindex_);
            std::memcpy(CMSG_DATA(c), &info, sizeof info);
        }
        if (::sendmsg(icmp_fd_, &header, MSG_DONTWAIT) < 0) {
            note("unsolicited neighbour advertisement");
        }
    }
    return first_error;
}

}  // namespace vigil::vrrp
