#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ipvs/netlink_message.hpp"

struct nl_sock;

namespace vigil::ipvs {

// How long the transport may wait for the kernel. The backend runs on a worker thread of its own
// (backend_worker), so a long call no longer holds up the event loop, but no wait may be
// open-ended: a kernel that stops answering must end the call, or every request queued behind it
// waits forever.
// - per_message: the longest silence while an answer is due. The kernel answers a command in
//   microseconds and sends a dump's datagrams back to back, so silence this long means the
//   answer is lost.
// - per_call: the longest a whole backend call (one dump() of every service and destination,
//   one apply() of any number of operations) may take. Past it the call ends with ETIMEDOUT, and
//   commands not yet sent are not sent. Long enough for a first table of many thousands of
//   destinations to go in in one sync.
// The kernel handles the commands of a datagram inside send() itself; the backend's window (64
// commands per datagram) is what bounds that part.
struct netlink_limits {
    std::chrono::milliseconds per_message{200};
    std::chrono::milliseconds per_call{30'000};
};

// One generic netlink socket and the exchanges the IPVS backend makes over it: a request and
// the messages that answer it, or a batch of commands and their acknowledgements. It knows
// framing and sequence numbers, not IPVS: the codec builds and reads the messages.
//
// Owns its socket and its receive buffer and nothing else, so a backend (and its transport) may
// live on a worker thread of its own. Not thread-safe: one caller at a time.
class netlink_transport {
  public:
    using clock = std::chrono::steady_clock;

    struct open_result {
        std::unique_ptr<netlink_transport> transport;
        std::string error;  // set when transport is null
        int error_number = 0;
    };
    // A generic netlink socket with `family_name` resolved to its id. Resolving it makes the
    // kernel load the module on demand, where one exists.
    static open_result open(const char* family_name, netlink_limits limits);
    // Any connected datagram socket that speaks netlink framing (a socketpair in tests), with the
    // family id taken as given. Takes ownership of `fd`.
    static std::unique_ptr<netlink_transport> adopt(int fd, std::uint16_t family,
                                                    netlink_limits limits);

    ~netlink_transport();
    netlink_transport(const netlink_transport&) = delete;
    netlink_transport& operator=(const netlink_transport&) = delete;

    std::uint16_t family() const { return family_; }
    const netlink_limits& limits() const { return limits_; }
    void set_limits(netlink_limits limits) { limits_ = limits; }
    // The deadline of a call starting now.
    clock::time_point call_deadline() const { return clock::now() + limits_.per_call; }

    // Sends `request` and reads until its answer ends: NLMSG_DONE, or an acknowledgement or an
    // error. Each data message of the answer goes to `each`; `each` returning false (a reply
    // the codec refuses) makes the answer EBADMSG once it has been read to its end. A request
    // given up on (a timeout) is read to its end at the start of the next call, within that
    // call's deadline: the kernel runs one dump per socket. Errors: the kernel's errno, ETIMEDOUT
    // when per_message or `deadline` passes first, EBADMSG for a malformed datagram, or the
    // socket's own.
    std::error_code request(netlink::bytes request,
                            const std::function<bool(const netlink::reply&)>& each,
                            clock::time_point deadline);

    // Sends every command in one datagram (the kernel handles each in turn and acknowledges
    // each) and fills `answers[i]` with the kernel's answer to `commands[i]`; a command left
    // unanswered when the wait ends gets the error that ended it (ETIMEDOUT, ...): the kernel
    // may or may not have applied it.
    void exchange(std::span<netlink::bytes> commands, std::span<std::error_code> answers,
                  clock::time_point deadline);

  private:
    netlink_transport(nl_sock* socket, int fd, std::uint16_t family, netlink_limits limits);

    std::uint32_t next_sequence() { return ++sequence_; }
    void finish_abandoned(clock::time_point deadline);
    std::error_code send(std::span<const std::uint8_t> datagram);
    // Waits for one datagram, no longer than per_message and never past `deadline`, and splits it.
    std::error_code receive(clock::time_point deadline, std::vector<netlink::reply>& replies);

    nl_sock* socket_;  // null for an adopted descriptor
    int fd_;
    std::uint16_t family_;
    std::uint32_t port_ = 0;
    std::uint32_t sequence_;
    netlink_limits limits_;
    std::vector<std::uint8_t> buffer_;
    std::optional<std::uint32_t> abandoned_;  // a request given up on before its answer ended
};

}  // namespace vigil::ipvs
