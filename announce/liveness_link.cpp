#include "announce/liveness_link.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace vigil::announce {
namespace {

std::error_code last_error() {
    return {errno, std::system_category()};
}

}  // namespace

liveness_link::~liveness_link() {
    close();
}

liveness_link::liveness_link(liveness_link&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), name_(std::move(other.name_)), up_(other.up_) {}

liveness_link& liveness_link::operator=(liveness_link&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        name_ = std::move(other.name_);
        up_ = other.up_;
    }
    return *this;
}

std::error_code liveness_link::open(const std::string& name) {
    close();
    if (name.empty() || name.size() >= IFNAMSIZ) {
        return std::make_error_code(std::errc::invalid_argument);
    }
    // O_CLOEXEC: a child (check script, notify program) must not keep the device alive after
    // vigil dies.
    int fd = ::open(device, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return last_error();
    }
    ifreq request{};
    std::memcpy(request.ifr_name, name.data(), name.size());
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (::ioctl(fd, TUNSETIFF, &request) < 0) {
        auto error = last_error();
        ::close(fd);
        return error;
    }
    // A device someone made persistent (`ip tuntap add`) would outlive vigil and keep the routes:
    // whatever it was, it dies with this descriptor from now on.
    if (::ioctl(fd, TUNSETPERSIST, 0) < 0) {
        auto error = last_error();
        ::close(fd);
        return error;
    }
    fd_ = fd;
    name_ = name;
    up_ = false;
    return {};
}

std::error_code liveness_link::set_up(bool up) {
    if (fd_ < 0) {
        return std::make_error_code(std::errc::bad_file_descriptor);
    }
    int control = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (control < 0) {
        return last_error();
    }
    ifreq request{};
    std::memcpy(request.ifr_name, name_.data(), name_.size());
    std::error_code error;
    if (::ioctl(control, SIOCGIFFLAGS, &request) < 0) {
        error = last_error();
    } else {
        if (up) {
            request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
        } else {
            request.ifr_flags = static_cast<short>(request.ifr_flags & ~IFF_UP);
        }
        if (::ioctl(control, SIOCSIFFLAGS, &request) < 0) {
            error = last_error();
        }
    }
    ::close(control);
    if (!error) {
        up_ = up;
    }
    return error;
}

void liveness_link::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    up_ = false;
}

}  // namespace vigil::announce
