#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "announce/bird_reply.hpp"
#include "base/clock.hpp"

namespace vigil::announce {

// An asynchronous client of BIRD's control socket: each command opens a connection, waits for the
// banner, sends one line, reads one reply and closes (BIRD serves many clients; one connection per
// command needs no recovery after BIRD restarts). Commands run one at a time in the order asked.
// Every step is bounded by `timeout` (connect, banner, reply): a BIRD that stops answering costs
// a failed command, never a blocked loop. The answer runs on the loop, never from inside
// command(), and never after the client is destroyed.
class bird_control {
  public:
    // The reply (which may itself be an error reply: see bird_reply::ok), or why none came.
    using outcome = std::variant<bird_reply, std::string>;
    using done_handler = std::function<void(outcome)>;

    bird_control(boost::asio::any_io_executor executor, clock_source& clock, std::string socket,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~bird_control();
    bird_control(const bird_control&) = delete;
    bird_control& operator=(const bird_control&) = delete;

    void command(std::string line, done_handler done);
    const std::string& socket_path() const { return socket_; }
    void set_socket_path(std::string socket) { socket_ = std::move(socket); }
    bool busy() const { return running_ != nullptr; }

  private:
    struct request;
    void start_next();
    void read_more(const std::shared_ptr<request>& r);
    void finish(const std::shared_ptr<request>& r, outcome result);

    boost::asio::any_io_executor executor_;
    clock_source& clock_;
    std::string socket_;
    std::chrono::milliseconds timeout_;
    std::deque<std::pair<std::string, done_handler>> queue_;
    std::shared_ptr<request> running_;
    std::unique_ptr<clock_timer> timer_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace vigil::announce
