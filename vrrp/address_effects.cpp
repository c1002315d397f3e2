#include "vrrp/address_effects.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace vigil::vrrp {

namespace {

int family_constant(const ip_address& address) {
    return address.is_v6() ? AF_INET6 : AF_INET;
}

// libnl objects are reference counted C structs; these release them on every path.
struct addr_ref {
    nl_addr* p = nullptr;
    ~addr_ref() {
        if (p) {
            nl_addr_put(p);
        }
    }
};
struct rtnl_addr_ref {
    rtnl_addr* p = nullptr;
    ~rtnl_addr_ref() {
        if (p) {
            rtnl_addr_put(p);
        }
    }
};

nl_addr* build_nl_addr(const ip_address& address) {
    if (address.is_v4()) {
        auto bytes = address.to_v4().to_bytes();
        return nl_addr_build(AF_INET, bytes.data(), bytes.size());
    }
    auto bytes = address.to_v6().to_bytes();
    return nl_addr_build(AF_INET6, bytes.data(), bytes.size());
}

std::optional<ip_address> from_nl_addr(nl_addr* a) {
    if (!a) {
        return std::nullopt;
    }
    const auto* data = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(a));
    auto length = nl_addr_get_len(a);
    if (nl_addr_get_family(a) == AF_INET && length == 4) {
        boost::asio::ip::address_v4::bytes_type bytes{};
        std::memcpy(bytes.data(), data, 4);
        return ip_address(boost::asio::ip::address_v4(bytes));
    }
    if (nl_addr_get_family(a) == AF_INET6 && length == 16) {
        boost::asio::ip::address_v6::bytes_type bytes{};
        std::memcpy(bytes.data(), data, 16);
        return ip_address(boost::asio::ip::address_v6(bytes));
    }
    return std::nullopt;
}

rtnl_addr* build_rtnl_addr(int ifindex, const ip_prefix& vip, addr_ref& local) {
    auto* a = rtnl_addr_alloc();
    if (!a) {
        return nullptr;
    }
    local.p = build_nl_addr(vip.address);
    rtnl_addr_set_ifindex(a, ifindex);
    rtnl_addr_set_family(a, family_constant(vip.address));
    rtnl_addr_set_local(a, local.p);
    rtnl_addr_set_prefixlen(a, static_cast<int>(vip.length));
    return a;
}

// How long one receive on the route netlink socket may block the event loop. The kernel handles
// an rtnetlink request inside our sendmsg() and queues the ack (or a dump's next part, produced
// inside recvmsg()) before returning, so a healthy kernel has answered before we wait at all; the
// bound only matters when the answer never comes (the ack dropped because our receive buffer was
// full, a kernel bug). The first receive that times out ends the call, so the worst stall per call
// is one bound. SO_RCVTIMEO counts in scheduler ticks: 1 ms rounds up to one tick, which measured
// 4-8 ms at HZ=250 - within the few milliseconds DESIGN.md allows a VRRP timer. What no socket
// option can bound is a sendmsg() waiting for the rtnl lock held by a wedged kernel task: that
// stalls every netlink user on the host alike.
constexpr auto receive_bound = std::chrono::milliseconds(1);

nl_sock* open_route_socket() {
    auto* socket = nl_socket_alloc();
    if (!socket) {
        return nullptr;
    }
    if (nl_connect(socket, NETLINK_ROUTE) != 0) {
        nl_socket_free(socket);
        return nullptr;
    }
    timeval bound{};
    bound.tv_usec = std::chrono::microseconds(receive_bound).count();
    int fd = nl_socket_get_fd(socket);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound) != 0) {
        // Without the bound a lost ack would stall adverts for good: better no socket, and
        // every effect fails with a clear error the instance retries.
        nl_socket_free(socket);
        return nullptr;
    }
    return socket;
}

}  // namespace

netlink_effects::netlink_effects() : socket_(open_route_socket()) {}

address_result netlink_effects::failed(int err) {
    if (err != -NLE_AGAIN) {
        return {address_change::failed, nl_geterror(err)};
    }
    // The kernel did not answer within the bound. Its late answer would be read as the answer to
    // our next request (a sequence mismatch, or worse a wrong success): start over on a fresh
    // socket, and let the caller retry (a refused VIP is retried with every advert).
    nl_socket_free(socket_);
    socket_ = open_route_socket();
    return {address_change::failed,
            "route netlink: the kernel did not answer at once (gave up after one scheduler tick; "
            "will retry)"};
}

netlink_effects::~netlink_effects() {
    if (socket_) {
        nl_socket_free(socket_);
    }
}

address_result netlink_effects::add(int ifindex, const ip_prefix& vip) {
    if (!socket_ && !(socket_ = open_route_socket())) {
        return {address_change::failed, "no route netlink socket"};
    }
    addr_ref local;
    rtnl_addr_ref a{build_rtnl_addr(ifindex, vip, local)};
    if (!a.p) {
        return {address_change::failed, "out of memory"};
    }
    if (vip.address.is_v6()) {
        // A VIP must answer at once: duplicate address detection would hold it "tentative" for
        // a second, and a failover is over long before that.
        rtnl_addr_set_flags(a.p, IFA_F_NODAD);
    }
    int err = rtnl_addr_add(socket_, a.p, 0);
    if (err == 0) {
        return {address_change::done, {}};
    }
    if (err == -NLE_EXIST) {
        return {address_change::already, {}};
    }
    return failed(err);
}

address_result netlink_effects::remove(int ifindex, const ip_prefix& vip) {
    if (!socket_ && !(socket_ = open_route_socket())) {
        return {address_change::failed, "no route netlink socket"};
    }
    addr_ref local;
    rtnl_addr_ref a{build_rtnl_addr(ifindex, vip, local)};
    if (!a.p) {
        return {address_change::failed, "out of memory"};
    }
    int err = rtnl_addr_delete(socket_, a.p, 0);
    if (err == 0) {
        return {address_change::done, {}};
    }
    if (err == -NLE_NOADDR || err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) {
        return {address_change::already, {}};
    }
    return failed(err);
}

std::optional<interface_info> netlink_effects::lookup(const std::string& name) {
    if (!socket_ && !(socket_ = open_route_socket())) {
        return std::nullopt;
    }
    rtnl_link* link = nullptr;
    if (int err = rtnl_link_get_kernel(socket_, 0, name.c_str(), &link); err != 0 || !link) {
        if (err == -NLE_AGAIN) {
            failed(err);
        }
        return std::nullopt;
    }
    interface_info info;
    info.name = name;
    info.index = rtnl_link_get_ifindex(link);
    auto flags = rtnl_link_get_flags(link);
    info.link_up = (flags & IFF_UP) && (flags & IFF_RUNNING);
    if (auto* mac = rtnl_link_get_addr(link); mac && nl_addr_get_len(mac) == 6) {
        std::memcpy(info.mac.data(), nl_addr_get_binary_addr(mac), 6);
    }
    rtnl_link_put(link);

    nl_cache* cache = nullptr;
    if (int err = rtnl_addr_alloc_cache(socket_, &cache); err == -NLE_AGAIN) {
        failed(err);
    } else if (err == 0) {
        for (auto* object = nl_cache_get_first(cache); object; object = nl_cache_get_next(object)) {
            auto* a = reinterpret_cast<rtnl_addr*>(object);
            if (rtnl_addr_get_ifindex(a) != info.index) {
                continue;
            }
            if (auto address = from_nl_addr(rtnl_addr_get_local(a))) {
                info.addresses.push_back(
                    ip_prefix{*address, static_cast<unsigned>(rtnl_addr_get_prefixlen(a))});
            }
        }
        nl_cache_free(cache);
    }
    return info;
}

address_result netlink_effects::create_macvlan(int base_index, const std::string& name,
                                               const mac_address& mac) {
    if (!socket_ && !(socket_ = open_route_socket())) {
        return {address_change::failed, "no route netlink socket"};
    }
    if (auto existing = lookup(name)) {
        if (existing->mac == mac) {
            return {address_change::already, {}};
        }
        // Left behind with another MAC (a changed VRID): replace it.
        delete_link(name);
    }
    if (!socket_ && !(socket_ = open_route_socket())) {
        return {address_change::failed, "no route netlink socket"};  // lost to a timeout above
    }
    auto* link = rtnl_link_macvlan_alloc();
    if (!link) {
        return {address_change::failed, "out of memory"};
    }
    rtnl_link_set_link(link, base_index);
    rtnl_link_set_name(link, name.c_str());
    auto* address = nl_addr_build(AF_LLC, mac.data(), mac.size());
    rtnl_link_set_addr(link, address);
    // Private mode, as keepalived's VMACs: the child does not talk to its siblings.
    rtnl_link_macvlan_set_mode(link, static_cast<uint32_t>(rtnl_link_macvlan_str2mode("private")));
    rtnl_link_set_flags(link, IFF_UP);
    int err = rtnl_link_add(socket_, link, NLM_F_CREATE | NLM_F_EXCL);
    nl_addr_put(address);
    rtnl_link_put(link);
    if (err != 0) {
        return failed(err);
    }
    return {address_change::done, {}};
}

address_result netlink_effects::delete_link(const std::string& name) {
    if (auto found = lookup(name)) {
        senders_.erase(found->index);
    }
    if (!socket_ && !(socket_ = open_route_socket())) {
        return {address_change::failed, "no route netlink socket"};
    }
    auto* link = rtnl_link_alloc();
    rtnl_link_set_name(link, name.c_str());
    int err = rtnl_link_delete(socket_, link);
    rtnl_link_put(link);
    if (err == 0) {
        return {address_change::done, {}};
    }
    if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) {
        return {address_change::already, {}};
    }
    return failed(err);
}

std::optional<std::string> netlink_effects::announce(const interface_info& iface,
                                                     const std::vector<ip_prefix>& vips) {
    auto& sender = senders_[iface.index];
    if (!sender) {
        std::string error;
        sender = announcement_sender::open(iface.index, iface.name, error);
        if (!sender) {
            senders_.erase(iface.index);
            return error;
        }
    }
    return sender->send_round(iface.mac, vips);
}

}  // namespace vigil::vrrp
