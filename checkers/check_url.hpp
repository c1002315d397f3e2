#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/address.hpp"
#include "base/parse_result.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe_result.hpp"

namespace vigil::checkers {

// A check written as a URL, for `vigil probe`: the target and the options of one probe.
//   tcp://ADDR:PORT
//   udp://ADDR:PORT?send=TEXT&expect=TEXT        (send_hex / expect_hex for bytes)
//   dns://ADDR[:PORT]/NAME?type=A&rcode=NOERROR&answer=DATA&transport=tcp
//   icmp://ADDR
//   smtp://ADDR[:PORT]?helo=NAME&starttls&sni=NAME   (port 25; STARTTLS, verified)
//   grpc://ADDR:PORT[/SERVICE]                   (h2c; grpcs:// for TLS, sni=NAME)
// ADDR is an address (IPv6 in brackets): a check probes addresses, never names. Query values are
// percent-decoded.
struct check_url {
    check_type type = check_type::tcp;
    ip_endpoint target;
    check_spec check;
};
parse_result<check_url> parse_check_url(std::string_view url);

// Runs one probe of `url` on a loop of its own, blocking, for at most `timeout` ("timeout" when
// it runs out). Not for the daemon's loop. `check.bind` applies to tcp.
probe_result run_check_once(const check_url& url, std::chrono::milliseconds timeout);

}  // namespace vigil::checkers
