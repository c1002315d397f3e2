#include "ipvs/netlink_transport.hpp"

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace vigil::ipvs {

namespace {

std::error_code errno_code(int e) {
    return {e, std::generic_category()};
}

// A generic netlink answer fits one page-sized skb, or 32 KiB for dumps to a reader with a
// large buffer; anything longer than this buffer is refused as truncated rather than misread.
constexpr std::size_t receive_buffer_size = 64 * 1024;

// Acknowledgements of a pipelined batch queue up in the socket's receive buffer; the backend's
// bounded window keeps them well under this size.
constexpr int socket_buffer_size = 1 << 20;

}  // namespace

netlink_transport::netlink_transport(nl_sock* socket, int fd, std::uint16_t family,
                                     netlink_limits limits)
    : socket_(socket),
      fd_(fd),
      family_(family),
      sequence_(socket ? nl_socket_use_seq(socket) : 0),
      limits_(limits),
      buffer_(receive_buffer_size) {
    if (socket_) {
        port_ = nl_socket_get_local_port(socket_);
    }
}

netlink_transport::~netlink_transport() {
    if (socket_) {
        nl_socket_free(socket_);  // closes fd_
    } else {
        ::close(fd_);
    }
}

netlink_transport::open_result netlink_transport::open(const char* family_name,
                                                       netlink_limits limits) {
    nl_sock* socket = nl_socket_alloc();
    if (!socket) {
        return {nullptr, "cannot allocate a netlink socket", ENOMEM};
    }
    if (int rc = genl_connect(socket); rc < 0) {
        nl_socket_free(socket);
        return {nullptr, std::string("cannot open a generic netlink socket: ") + nl_geterror(rc),
                EIO};
    }
    // libnl's own blocking reads (the family lookup below) end after per_message too.
    auto ms = limits.per_message.count();
    timeval timeout{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
    setsockopt(nl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    nl_socket_set_buffer_size(socket, socket_buffer_size, socket_buffer_size);
    int family = genl_ctrl_resolve(socket, family_name);
    if (family < 0) {
        nl_socket_free(socket);
        int error = -family == NLE_OBJ_NOTFOUND ? ENOENT : EIO;
        return {nullptr, nl_geterror(family), error};
    }
    return {std::unique_ptr<netlink_transport>(new netlink_transport(
                socket, nl_socket_get_fd(socket), static_cast<std::uint16_t>(family), limits)),
            {},
            0};
}

std::unique_ptr<netlink_transport> netlink_transport::adopt(int fd, std::uint16_t family,
                                                            netlink_limits limits) {
    return std::unique_ptr<netlink_transport>(new netlink_transport(nullptr, fd, family, limits));
}

std::error_code netlink_transport::send(std::span<const std::uint8_t> datagram) {
    while (true) {
        if (::send(fd_, datagram.data(), datagram.size(), 0) >= 0) {
            return {};
        }
        if (errno != EINTR) {
            return errno_code(errno);
        }
    }
}

std::error_code netlink_transport::receive(clock::time_point deadline,
                                           std::vector<netlink::reply>& replies) {
    replies.clear();
    while (true) {
        auto now = clock::now();
        if (now >= deadline) {
            return errno_code(ETIMEDOUT);
        }
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
        auto wait = std::min(left, limits_.per_message);
        pollfd p{fd_, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(wait.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready < 0) {
            return errno_code(errno);
        }
        if (ready == 0) {
            return errno_code(ETIMEDOUT);
        }
        if (!(p.revents & (POLLIN | POLLERR))) {
            return errno_code(ECONNRESET);  // an adopted socket whose peer is gone
        }
        sockaddr_nl from{};
        iovec io{buffer_.data(), buffer_.size()};
        msghdr m{};
        m.msg_name = &from;
        m.msg_namelen = sizeof from;
        m.msg_iov = &io;
        m.msg_iovlen = 1;
        ssize_t n = ::recvmsg(fd_, &m, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n < 0) {
            return errno_code(
                errno);  // ENOBUFS (POLLERR): the kernel dropped answers on an overrun
        }
        if (m.msg_flags & MSG_TRUNC) {
            return errno_code(EMSGSIZE);
        }
        // Only the kernel (port 0) answers; another process could write to our port too.
        if (socket_ && (from.nl_family != AF_NETLINK || from.nl_pid != 0)) {
            continue;
        }
        auto parsed = netlink::parse_replies({buffer_.data(), static_cast<std::size_t>(n)});
        if (!parsed) {
            return errno_code(EBADMSG);
        }
        replies = std::move(*parsed);
        return {};
    }
}

void netlink_transport::finish_abandoned(clock::time_point deadline) {
    // The kernel runs one dump per socket and continues it only as its reader reads: a new dump
    // while an abandoned one still runs would be refused (EBUSY). Read the old one to its end
    // first, within this call's bound; if that runs out, the kernel's answer says so.
    std::vector<netlink::reply> replies;
    while (abandoned_) {
        if (receive(deadline, replies)) {
            abandoned_.reset();  // its end is lost: wait for it once, not before every call
            return;
        }
        for (const auto& r : replies) {
            if (r.sequence == *abandoned_ && r.what != netlink::reply::kind::data) {
                abandoned_.reset();
            }
        }
    }
}

std::error_code netlink_transport::request(netlink::bytes request,
                                           const std::function<bool(const netlink::reply&)>& each,
                                           clock::time_point deadline) {
    finish_abandoned(deadline);
    if (clock::now() >= deadline) {
        return errno_code(ETIMEDOUT);
    }
    std::uint32_t sequence = next_sequence();
    netlink::stamp(request, sequence, port_);
    if (auto ec = send(request)) {
        return ec;
    }
    bool refused = false;  // a reply the codec refused: read on to the end, then say so
    std::vector<netlink::reply> replies;
    while (true) {
        if (auto ec = receive(deadline, replies)) {
            abandoned_ = sequence;
            return ec;
        }
        for (const auto& r : replies) {
            // Answers to an earlier request whose reader gave up may still be queued: only
            // this request's sequence number counts.
            if (r.sequence != sequence) {
                continue;
            }
            switch (r.what) {
                case netlink::reply::kind::data:
                    if (!refused && !each(r)) {
                        refused = true;
                    }
                    break;
                case netlink::reply::kind::done:
                case netlink::reply::kind::error:
                    if (refused) {
                        return errno_code(EBADMSG);
                    }
                    return r.error ? errno_code(r.error) : std::error_code();
            }
        }
    }
}

void netlink_transport::exchange(std::span<netlink::bytes> commands,
                                 std::span<std::error_code> answers, clock::time_point deadline) {
    const std::size_t count = std::min(commands.size(), answers.size());
    if (count == 0) {
        return;
    }
    finish_abandoned(deadline);
    if (clock::now() >= deadline) {
        std::fill_n(answers.begin(), count, errno_code(ETIMEDOUT));
        return;
    }
    // Consecutive sequence numbers: an answer's offset from the first is its command's index.
    const std::uint32_t first = sequence_ + 1;
    std::vector<std::uint8_t> datagram;
    for (std::size_t i = 0; i < count; ++i) {
        netlink::stamp(commands[i], next_sequence(), port_);
        datagram.insert(datagram.end(), commands[i].begin(), commands[i].end());
    }
    if (auto ec = send(datagram)) {
        std::fill_n(answers.begin(), count, ec);
        return;
    }
    std::vector<bool> answered(count, false);
    std::size_t left = count;
    std::vector<netlink::reply> replies;
    while (left > 0) {
        if (auto ec = receive(deadline, replies)) {
            for (std::size_t i = 0; i < count; ++i) {
                if (!answered[i]) {
                    answers[i] = ec;
                }
            }
            return;
        }
        for (const auto& r : replies) {
            std::size_t index = r.sequence - first;  // wraps to a huge value for earlier ones
            if (r.what != netlink::reply::kind::error || index >= count || answered[index]) {
                continue;
            }
            answered[index] = true;
            answers[index] = r.error ? errno_code(r.error) : std::error_code();
            --left;
        }
    }
}

}  // namespace vigil::ipvs
