#pragma once

#include <boost/regex.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "checkers/body_digester.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe_result.hpp"

namespace vigil::checkers {

// Judges one HTTP response against the expectations of an http/https check: the pure half of the
// HTTP probe, fed by libcurl's write callback and unit-tested and fuzzed without a socket.
//
// The body is read up to body_limit bytes; feed() says when to stop, so the transfer can be
// aborted right there. A regex is searched in what was read (body_regex must match,
// body_regex_absent must not); a digest needs the whole body, so a longer body fails it.
class response_check {
  public:
    // The regex is compiled once here. Config validation already proved it compiles; if it does
    // not, every verdict fails with the reason rather than throwing.
    // The spec's own single URL (path, status, body_regex, ...).
    explicit response_check(const http_spec& options);
    // One URL of a check (see urls_of), read up to `body_limit` bytes.
    response_check(const http_url& url, std::size_t body_limit);

    // Before each response.
    void reset();
    // Body bytes as they arrive. Returns false once body_limit is reached: stop reading.
    bool feed(std::string_view chunk);
    // The verdict once the response is complete (or was cut at the limit).
    probe_result verdict(unsigned status);

    std::size_t body_bytes() const { return received_; }
    bool truncated() const { return truncated_; }

  private:
    std::size_t limit_;
    status_set status_;
    std::optional<boost::regex> regex_;
    std::optional<boost::regex> absent_regex_;
    std::string regex_error_;
    std::optional<body_digest> expected_;
    std::optional<body_digester> digester_;
    std::string body_;  // kept only for a regex (either)
    std::size_t received_ = 0;
    bool truncated_ = false;
};

// "ok", "status 503", "body mismatch", ...: the reason for a status alone.
std::string describe_status(unsigned status);

}  // namespace vigil::checkers
