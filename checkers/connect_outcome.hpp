#pragma once

#include <boost/system/error_code.hpp>

namespace vigil::checkers {

// The end of a non-blocking connect() once Asio reports the socket writable: the wait's own
// error, else what SO_ERROR holds; 0 when connected. The probes connect with a plain system call
// and confirm with this, because Asio's async_connect polls the socket once more to learn the same.
int connect_outcome(const boost::system::error_code& wait_error, int fd);

}  // namespace vigil::checkers
