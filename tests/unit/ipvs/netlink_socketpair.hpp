#pragma once

// A socketpair standing in for the kernel: the transport owns one end, the test the other. What
// the test writes before a call is what "the kernel" answers; what the transport sent can be
// read back. An adopted transport numbers its requests from 1.

#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "ipvs/netlink_transport.hpp"

namespace vigil::ipvs::test {

struct fake_kernel {
    int peer = -1;
    std::unique_ptr<netlink_transport> transport;

    explicit fake_kernel(netlink_limits limits, std::uint16_t family = 0x1d) {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) == 0);
        peer = fds[1];
        transport = netlink_transport::adopt(fds[0], family, limits);
    }
    ~fake_kernel() { ::close(peer); }
    fake_kernel(const fake_kernel&) = delete;
    fake_kernel& operator=(const fake_kernel&) = delete;

    void answer(const std::vector<std::uint8_t>& datagram) const {
        REQUIRE(::send(peer, datagram.data(), datagram.size(), 0) ==
                static_cast<ssize_t>(datagram.size()));
    }

    // The datagrams the transport sent, in order.
    std::vector<std::vector<std::uint8_t>> sent() const {
        std::vector<std::vector<std::uint8_t>> out;
        std::vector<std::uint8_t> buffer(1 << 16);
        while (true) {
            ssize_t n = ::recv(peer, buffer.data(), buffer.size(), MSG_DONTWAIT);
            if (n < 0) {
                return out;
            }
            out.emplace_back(buffer.begin(), buffer.begin() + n);
        }
    }
};

}  // namespace vigil::ipvs::test
