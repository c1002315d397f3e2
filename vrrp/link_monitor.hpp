#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace vigil::vrrp {

// Link state as rtnetlink announces it (RTM_NEWLINK / RTM_DELLINK), never by polling. A lost
// event (the socket's buffer overflowed) is reported as a resync so the caller re-reads state.
class link_monitor {
  public:
    struct link_event {
        int index = 0;
        std::string name;
        bool up = false;
        bool removed = false;
    };
    using event_handler = std::function<void(const link_event&)>;
    using resync_handler = std::function<void()>;

    link_monitor(boost::asio::any_io_executor executor, event_handler on_event,
                 resync_handler on_resync);
    ~link_monitor();
    link_monitor(const link_monitor&) = delete;
    link_monitor& operator=(const link_monitor&) = delete;

    // Returns why the rtnetlink socket could not be opened, if it could not.
    std::optional<std::string> start();

    struct shared_state;

  private:
    std::shared_ptr<shared_state> state_;
};

}  // namespace vigil::vrrp
