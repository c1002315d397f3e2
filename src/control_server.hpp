#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/event_log.hpp"

namespace vigil {

// The daemon's control socket: a unix stream socket, mode 0600, that answers one JSON request
// line ({"command":"status"}) with one JSON object and closes. Only root and the daemon's own
// user may connect: the file mode keeps others out and SO_PEERCRED is checked as well.
class control_server {
  public:
    using request_handler = std::function<boost::json::object(const boost::json::object& request)>;

    control_server(boost::asio::any_io_executor executor, event_log& log, request_handler handler);
    ~control_server();
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    // Binds and starts accepting. Refuses to take over a socket another process still listens on;
    // a stale one left by a crash is replaced. Returns why it failed.
    std::optional<std::string> open(const std::string& path);
    void close();
    const std::string& path() const { return path_; }

  private:
    struct shared_state;
    boost::asio::any_io_executor executor_;
    event_log& log_;
    request_handler handler_;
    std::string path_;
    std::shared_ptr<shared_state> state_;
};

// Client side, for the CLI: sends one request and returns the reply, or why it could not.
struct control_reply {
    std::optional<boost::json::object> reply;
    std::string error;
};
control_reply control_request(const std::string& path, const boost::json::object& request);

}  // namespace vigil
