#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "vrrp/announcement_packets.hpp"

namespace vigil::vrrp {

// The sockets that carry announcements on one interface: PF_PACKET for gratuitous ARP, raw
// ICMPv6 for unsolicited neighbour advertisements.
class announcement_sender {
  public:
    static std::unique_ptr<announcement_sender> open(int ifindex, const std::string& ifname,
                                                     std::string& error);
    ~announcement_sender();
    announcement_sender(const announcement_sender&) = delete;
    announcement_sender& operator=(const announcement_sender&) = delete;

    // One gratuitous ARP per IPv4 VIP and one NA per IPv6 VIP, from `mac`; an NA is sent from
    // the VIP itself, as keepalived sends it. Returns the first error, if any.
    std::optional<std::string> send_round(const mac_address& mac,
                                          const std::vector<ip_prefix>& vips);

  private:
    announcement_sender(int ifindex, std::string ifname, int packet_fd, int icmp_fd);
    int ifindex_;
    std::string ifname_;
    int packet_fd_;
    int icmp_fd_;
};

}  // namespace vigil::vrrp
