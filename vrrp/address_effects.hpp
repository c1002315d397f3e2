#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "vrrp/announcement_packets.hpp"
#include "vrrp/announcement_sender.hpp"

struct nl_sock;

namespace vigil::vrrp {

// What an instance needs to know about an interface.
struct interface_info {
    int index = 0;
    std::string name;
    mac_address mac{};
    bool link_up = false;  // administratively up and with carrier (IFF_UP and IFF_RUNNING)
    std::vector<ip_prefix> addresses;
};

enum class address_change { done, already, failed };

struct address_result {
    address_change outcome;
    std::string error;  // when failed: the kernel's answer in words
};

// The address/link effects seam: how VIPs get on and off an interface and how interfaces are
// looked up. The netlink implementation talks to the kernel with libnl-route, on the event loop:
// every receive is bounded (see receive_bound in the .cpp), so no call stalls adverts.
class address_effects {
  public:
    virtual ~address_effects() = default;
    virtual address_result add(int ifindex, const ip_prefix& vip) = 0;
    virtual address_result remove(int ifindex, const ip_prefix& vip) = 0;
    virtual std::optional<interface_info> lookup(const std::string& name) = 0;
    // A macvlan child of `base_index` named `name` with `mac`, up. An existing one with that
    // name is reused if it has the MAC, else replaced.
    virtual address_result create_macvlan(int base_index, const std::string& name,
                                          const mac_address& mac) = 0;
    virtual address_result delete_link(const std::string& name) = 0;
    // Announces `vips` from `iface`'s MAC: a gratuitous ARP per IPv4 VIP, an unsolicited NA per
    // IPv6 VIP. Returns the first error, if any.
    virtual std::optional<std::string> announce(const interface_info& iface,
                                                const std::vector<ip_prefix>& vips) = 0;
};

class netlink_effects final : public address_effects {
  public:
    netlink_effects();
    ~netlink_effects() override;
    netlink_effects(const netlink_effects&) = delete;
    netlink_effects& operator=(const netlink_effects&) = delete;

    // Whether the route netlink socket could be opened; every call fails otherwise (and tries
    // to open it again).
    bool ok() const { return socket_ != nullptr; }

    address_result add(int ifindex, const ip_prefix& vip) override;
    address_result remove(int ifindex, const ip_prefix& vip) override;
    std::optional<interface_info> lookup(const std::string& name) override;
    address_result create_macvlan(int base_index, const std::string& name,
                                  const mac_address& mac) override;
    address_result delete_link(const std::string& name) override;
    std::optional<std::string> announce(const interface_info& iface,
                                        const std::vector<ip_prefix>& vips) override;

  private:
    // The result for a libnl error; a timed-out answer also replaces the socket.
    address_result failed(int err);

    nl_sock* socket_ = nullptr;
    // Opened on first use per interface index; an interface that is recreated gets a new index.
    std::map<int, std::unique_ptr<announcement_sender>> senders_;
};

}  // namespace vigil::vrrp
