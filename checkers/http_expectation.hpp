#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/parse_result.hpp"

namespace vigil::checkers {

// Which HTTP status codes count as healthy: a list of codes and inclusive ranges.
class status_set {
  public:
    struct range {
        unsigned first;
        unsigned last;
        friend bool operator==(const range&, const range&) = default;
    };

    static status_set default_success() { return status_set{{{200, 299}}}; }
    status_set() = default;
    explicit status_set(std::vector<range> ranges) : ranges_(std::move(ranges)) {}

    bool contains(unsigned status) const;
    std::string to_string() const;  // "200-299,302"
    friend bool operator==(const status_set&, const status_set&) = default;

  private:
    std::vector<range> ranges_;
};

// "200", "200-299": codes are 100 to 599.
parse_result<status_set::range> parse_status_range(std::string_view text);

// The expected digest of a response body, as keepalived's genhash prints it.
struct body_digest {
    enum class algorithm { md5, sha256 };
    algorithm algo;
    std::vector<std::uint8_t> bytes;
    friend bool operator==(const body_digest&, const body_digest&) = default;
};

// "md5:<32 hex digits>" or "sha256:<64 hex digits>".
parse_result<body_digest> parse_body_digest(std::string_view text);
std::string to_string(const body_digest& digest);

}  // namespace vigil::checkers
