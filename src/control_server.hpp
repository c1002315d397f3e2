#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/event_log.hpp"
#include "snapshot_renderer.hpp"

namespace vigil {

// The daemon's control socket: a unix stream socket, mode 0600, that answers one JSON request
// line ({"command":"status"}) with one JSON object and closes. Only root and the daemon's own
// user may connect: the file mode keeps others out and SO_PEERCRED is checked as well.
//
// Hostile or unlucky clients cost nothing but their own connection: a request is read within
// 5 s and at most 64 KiB (longer gets an error reply, not a reset); a reply of any size is
// written as long as the client keeps reading (5 s without progress ends it); when the process
// runs out of descriptors, accepting backs off instead of spinning, a reserve descriptor lets the
// waiting client be told "busy", and the failure is logged at most once every 10 s.
class control_server {
  public:
    // The handler answers by calling `reply` exactly once, now or later on the loop (a reload
    // validates its config off the loop first, a status is rendered off it), with one JSON
    // object already serialized on one line (json_line): a 10 MB status is never serialized on
    // the loop, nor copied per client.
    using reply_handler = std::function<void(rendered_text line)>;
    using request_handler =
        std::function<void(const boost::json::object& request, reply_handler reply)>;

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

// One JSON object as the control socket sends it: serialized, on one line, with its newline.
rendered_text json_line(const boost::json::object& object);

// Raises the soft RLIMIT_NOFILE to the hard limit (a hand-started `vigil run` gets 1,024, which
// 1,000 idle control clients or a large check set would exhaust). Returns the new soft limit.
std::uint64_t raise_descriptor_limit();

// Client side, for the CLI: sends one request and returns the reply, or why it could not.
struct control_reply {
    std::optional<boost::json::object> reply;
    std::string error;
};
// `timeout` bounds each wait for the daemon (a reload of a large config may need more than the
// default).
control_reply control_request(const std::string& path, const boost::json::object& request,
                              std::chrono::seconds timeout = std::chrono::seconds(5));

}  // namespace vigil
