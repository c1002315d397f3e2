#include "checkers/source_address.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/ip/tcp.hpp>
#pragma GCC diagnostic pop
#include <cerrno>
#include <cstring>

namespace vigil::checkers {

int bind_source(int fd, const ip_address& source) {
    int on = 1;
    // Best effort: without it (kernels before 4.2) bind picks the port itself, which still works.
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    boost::asio::ip::tcp::endpoint local(source, 0);
    if (::bind(fd, local.data(), static_cast<socklen_t>(local.size())) != 0) {
        return errno;
    }
    return 0;
}

std::string describe_bind_failure(const ip_address& source, int error) {
    std::string reason = "bind to " + source.to_string() + " failed: ";
    if (error == EADDRNOTAVAIL) {
        return reason + "address not available on this host";
    }
    return reason + std::strerror(error);
}

}  // namespace vigil::checkers
