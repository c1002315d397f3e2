#pragma once

#include <string>

#include "base/address.hpp"

namespace vigil::checkers {

// Binds a socket that is about to connect to the source address `source` (a check's `bind`). The
// port is left to connect() (IP_BIND_ADDRESS_NO_PORT), so thousands of bound checks to different
// servers share ephemeral ports as unbound ones do instead of each reserving one at bind time.
// Returns 0, or the errno: EADDRNOTAVAIL for an address this host does not have.
int bind_source(int fd, const ip_address& source);

// "bind to 192.0.2.9 failed: address not available on this host", ...
std::string describe_bind_failure(const ip_address& source, int error);

}  // namespace vigil::checkers
