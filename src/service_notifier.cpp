#include "service_notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace vigil {

service_notifier service_notifier::from_environment() {
    service_notifier notifier;
    if (const char* path = std::getenv("NOTIFY_SOCKET"); path && *path) {
        notifier.socket_path_ = path;
    }
    const char* usec = std::getenv("WATCHDOG_USEC");
    const char* pid = std::getenv("WATCHDOG_PID");
    bool for_us = !pid || std::strtol(pid, nullptr, 10) == ::getpid();
    if (usec && for_us) {
        auto value = std::strtoll(usec, nullptr, 10);
        if (value > 0) {
            notifier.watchdog_period_ = std::chrono::microseconds(value / 2);
        }
    }
    return notifier;
}

void service_notifier::notify(std::string_view message) const {
    if (socket_path_.empty()) {
        return;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof address.sun_path) {
        return;
    }
    std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
    auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
    if (address.sun_path[0] == '@') {
        address.sun_path[0] = '\0';  // abstract socket
    }
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    // A lost notification is systemd's to time out on; never the daemon's reason to stop.
    (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                   reinterpret_cast<const sockaddr*>(&address), length);
    ::close(fd);
}

}  // namespace vigil
