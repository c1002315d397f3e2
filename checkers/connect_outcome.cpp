#include "checkers/connect_outcome.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace vigil::checkers {

int connect_outcome(const boost::system::error_code& wait_error, int fd) {
    if (wait_error) {
        return wait_error.value();
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        return errno;
    }
    return error;
}

}  // namespace vigil::checkers
