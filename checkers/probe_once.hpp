#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"

namespace vigil::checkers {

// `vigil probe URL`: one blocking HTTP(S) request, like keepalived's genhash, to find the digest
// and status to put in a check. Not for the event loop.
struct probe_once_options {
    std::optional<ip_endpoint> connect;  // send the connection here instead of the URL's host
    std::optional<std::string> host;     // Host header
    std::optional<std::string> ca_file;
    bool insecure = false;  // no TLS verification
    http_method method = http_method::get;
    http_version version = http_version::http_1_1;
    std::optional<ip_address> bind;      // source address of the connection
    std::size_t body_limit = 64 * 1024;  // as the daemon reads, so the digest is the daemon's
    std::chrono::milliseconds timeout{5000};
};

struct probe_once_report {
    bool ok = false;    // a response arrived
    std::string error;  // why not, in the checkers' words
    long status = 0;
    std::size_t body_length = 0;  // bytes read (at most body_limit)
    bool truncated = false;       // the body went on past body_limit
    std::string md5;              // "md5:<hex>" of the bytes read
    std::string sha256;
    double seconds = 0;
};

probe_once_report probe_once(const std::string& url, const probe_once_options& options);

}  // namespace vigil::checkers
