#include "checkers/icmp_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/post.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <cerrno>
#include <cstring>

namespace vigil::checkers {

namespace asio = boost::asio;

namespace {

// Replies read per wake-up: a flood of ICMP (raw sockets see everyone's) cannot hold the loop.
constexpr int replies_per_turn = 64;

constexpr std::array<std::uint8_t, 16> payload{'v', 'i', 'g', 'i', 'l', ' ', 'i', 'c',
                                               'm', 'p', ' ', 'c', 'h', 'e', 'c', 'k'};

std::string errno_text(int error) {
    return std::strerror(error);
}

}  // namespace

icmp_socket::icmp_socket(asio::any_io_executor executor, icmp_version version,
                         std::uint16_t raw_identifier)
    : executor_(std::move(executor)), version_(version), identifier_(raw_identifier) {}

icmp_socket::~icmp_socket() {
    *alive_ = false;
}

std::string_view icmp_socket::kind() const {
    if (!descriptor_) {
        return {};
    }
    return raw_ ? "raw" : "ping";
}

std::optional<std::string> icmp_socket::open() {
    int family = version_ == icmp_version::v4 ? AF_INET : AF_INET6;
    int protocol = version_ == icmp_version::v4 ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    raw_ = false;
    if (fd < 0) {
        int ping_error = errno;
        fd = ::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
        if (fd < 0) {
            return "cannot open an ICMP socket: ping socket: " + errno_text(ping_error) +
                   ", raw socket: " + errno_text(errno);
        }
        raw_ = true;
    } else {
        // A ping socket's identifier is its port, which the kernel picks at bind and uses to
        // route replies to it alone.
        sockaddr_storage local{};
        socklen_t length = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        local.ss_family = static_cast<sa_family_t>(family);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&local), length) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
            int error = errno;
            ::close(fd);
            return "cannot bind the ICMP ping socket: " + errno_text(error);
        }
        identifier_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&local)->sin_port
                                              : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    }
    descriptor_.emplace(executor_, fd);
    wait_for_replies();
    return std::nullopt;
}

void icmp_socket::fail_later(ticket t, completion done, std::string why) {
    failing_.emplace(t, std::move(done));
    asio::post(executor_, [this, alive = alive_, t, why = std::move(why)] {
        if (!*alive) {
            return;
        }
        auto found = failing_.find(t);
        if (found == failing_.end()) {
            return;  // forgotten meanwhile
        }
        auto callback = std::move(found->second);
        failing_.erase(found);
        callback(why);
    });
}

icmp_socket::ticket icmp_socket::send(const asio::ip::address& to, completion done) {
    auto t = next_ticket_++;
    if (!descriptor_) {
        if (auto problem = open()) {
            fail_later(t, std::move(done), std::move(*problem));
            return t;
        }
    }
    if (pending_.size() >= 65536) {
        fail_later(t, std::move(done), "too many ICMP echoes in flight");
        return t;
    }
    while (pending_.contains(next_sequence_)) {
        ++next_sequence_;
    }
    auto sequence = next_sequence_++;
    auto request = encode_echo_request(version_, identifier_, sequence, payload);
    sockaddr_storage peer{};
    socklen_t length = 0;
    if (to.is_v4()) {
        auto& a = reinterpret_cast<sockaddr_in&>(peer);
        a.sin_family = AF_INET;
        auto bytes = to.to_v4().to_bytes();
        std::memcpy(&a.sin_addr, bytes.data(), bytes.size());
        length = sizeof a;
    } else {
        auto& a = reinterpret_cast<sockaddr_in6&>(peer);
        a.sin6_family = AF_INET6;
        auto bytes = to.to_v6().to_bytes();
        std::memcpy(&a.sin6_addr, bytes.data(), bytes.size());
        a.sin6_scope_id = static_cast<std::uint32_t>(to.to_v6().scope_id());
        length = sizeof a;
    }
    auto sent = ::sendto(descriptor_->native_handle(), request.data(), request.size(), MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&peer), length);
    if (sent < 0) {
        fail_later(t, std::move(done), "cannot send the ICMP echo: " + errno_text(errno));
        return t;
    }
    pending_.emplace(sequence, echo{to, t, std::move(done)});
    sequences_.emplace(t, sequence);
    return t;
}

void icmp_socket::forget(ticket t) {
    failing_.erase(t);
    auto found = sequences_.find(t);
    if (found == sequences_.end()) {
        return;
    }
    pending_.erase(found->second);
    sequences_.erase(found);
}

void icmp_socket::wait_for_replies() {
    descriptor_->async_wait(asio::posix::descriptor_base::wait_read,
                            [this, alive = alive_](const boost::system::error_code& ec) {
                                if (!*alive || ec) {
                                    return;
                                }
                                read_replies();
                                wait_for_replies();
                            });
}

void icmp_socket::read_replies() {
    std::array<std::uint8_t, 2048> buffer{};
    for (int i = 0; i < replies_per_turn; ++i) {
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        auto n = ::recvfrom(descriptor_->native_handle(), buffer.data(), buffer.size(),
                            MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &length);
        if (n < 0) {
            return;  // EAGAIN: drained; anything else: the next wake-up tries again
        }
        auto reply = decode_echo_reply(
            version_, std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)),
            raw_ && version_ == icmp_version::v4);
        if (!reply || (raw_ && reply->id != identifier_)) {
            continue;
        }
        auto found = pending_.find(reply->sequence);
        if (found == pending_.end()) {
            continue;
        }
        asio::ip::address source;
        if (from.ss_family == AF_INET) {
            asio::ip::address_v4::bytes_type bytes{};
            std::memcpy(bytes.data(), &reinterpret_cast<sockaddr_in&>(from).sin_addr, bytes.size());
            source = asio::ip::address_v4(bytes);
        } else if (from.ss_family == AF_INET6) {
            asio::ip::address_v6::bytes_type bytes{};
            std::memcpy(bytes.data(), &reinterpret_cast<sockaddr_in6&>(from).sin6_addr,
                        bytes.size());
            source = asio::ip::address_v6(bytes);
        }
        auto expected = found->second.to;
        if (expected.is_v6() && source.is_v6()) {
            // Compare without the scope id, which the reply's source does not carry here.
            expected = asio::ip::address_v6(expected.to_v6().to_bytes());
        }
        if (source != expected) {
            continue;
        }
        auto done = std::move(found->second.done);
        sequences_.erase(found->second.id);
        pending_.erase(found);
        done("");
    }
}

}  // namespace vigil::checkers
