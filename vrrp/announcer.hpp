#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "base/duration.hpp"
#include "vrrp/announce.hpp"

namespace vigil::vrrp {

// When a new master announces its VIPs, as keepalived's vrrp_garp_* settings: a burst at once, a
// second burst after master_delay (none when it is 0), and while master optionally a refresh
// every master_refresh.
struct announce_settings {
    duration master_delay = std::chrono::seconds(5);
    unsigned master_repeat = 5;
    duration master_refresh{0};
    unsigned master_refresh_repeat = 1;
    duration interval{0};  // between the packets of one burst

    bool operator==(const announce_settings&) const = default;
};

// Runs the schedule; every step calls `send_round` (one packet per VIP). stop() ends it at once.
class announcer {
  public:
    announcer(boost::asio::any_io_executor executor, announce_settings settings,
              std::function<void()> send_round);
    ~announcer();
    announcer(const announcer&) = delete;
    announcer& operator=(const announcer&) = delete;

    void start();
    void stop();
    bool running() const;

    struct shared_state;

  private:
    std::shared_ptr<shared_state> state_;
};

// The sockets that carry announcements on one interface: PF_PACKET for gratuitous ARP, raw
// ICMPv6 for unsolicited neighbour advertisements.
class announce_sender {
  public:
    static std::unique_ptr<announce_sender> open(int ifindex, const std::string& ifname,
                                                 std::string& error);
    ~announce_sender();
    announce_sender(const announce_sender&) = delete;
    announce_sender& operator=(const announce_sender&) = delete;

    // One gratuitous ARP per IPv4 VIP and one NA per IPv6 VIP, from `mac`; an NA is sent from
    // the VIP itself, as keepalived sends it. Returns the first error, if any.
    std::optional<std::string> send_round(const mac_address& mac,
                                          const std::vector<ip_prefix>& vips);

  private:
    announce_sender(int ifindex, std::string ifname, int packet_fd, int icmp_fd);
    int ifindex_;
    std::string ifname_;
    int packet_fd_;
    int icmp_fd_;
};

}  // namespace vigil::vrrp
