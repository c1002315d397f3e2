#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "base/duration.hpp"
#include "vrrp/announcement_packets.hpp"

namespace vigil::vrrp {

// When a new master announces its VIPs, as keepalived's vrrp_garp_* settings: a burst at once, a
// second burst after master_delay (none when it is 0), and while master optionally a refresh
// every master_refresh.
struct announce_spec {
    duration master_delay = std::chrono::seconds(5);
    unsigned master_repeat = 5;
    duration master_refresh{0};
    unsigned master_refresh_repeat = 1;
    duration interval{0};  // between the packets of one burst

    bool operator==(const announce_spec&) const = default;
};

// Runs the schedule; every step calls `send_round` (one packet per VIP). stop() ends it at once.
class announcer {
  public:
    announcer(boost::asio::any_io_executor executor, announce_spec settings,
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

}  // namespace vigil::vrrp
