#pragma once

#include <string>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"

namespace vigil::checkers {

// The bytes of one HTTP/1.1 (or 1.0) health-check request, built once per probe and sent as they
// are on every run. The Host header is the configured one, else (HTTPS) the SNI name, else the
// address probed, with the port unless it is the scheme's default, as curl writes it;
// `keep_alive` false asks the server to close after answering.
std::string build_http_request(const ip_endpoint& target, const http_spec& options, bool keep_alive,
                               bool https = false);
// The same for one URL of the spec (see urls_of): its path and Host, the spec's method and version.
std::string build_http_request(const ip_endpoint& target, const http_spec& options,
                               const http_url& url, bool keep_alive, bool https = false);

}  // namespace vigil::checkers
