#include "checkers/response_check.hpp"

#include <algorithm>

namespace vigil::checkers {

response_check::response_check(const http_spec& options)
    : limit_(std::max<std::size_t>(options.body_limit, 1)),
      status_(options.status),
      expected_(options.digest) {
    if (options.body_regex) {
        try {
            regex_.emplace(*options.body_regex, boost::regex::perl);
        } catch (const std::exception& e) {
            regex_error_ = std::string("body_regex does not compile: ") + e.what();
        }
    }
    if (expected_) {
        digester_.emplace(expected_->algo);
    }
}

void response_check::reset() {
    body_.clear();
    received_ = 0;
    truncated_ = false;
    if (digester_) {
        digester_->reset();
    }
}

bool response_check::feed(std::string_view chunk) {
    auto room = limit_ - received_;
    if (chunk.size() > room) {
        chunk = chunk.substr(0, room);
        truncated_ = true;
    }
    received_ += chunk.size();
    if (digester_) {
        digester_->update(chunk);
    }
    if (regex_) {
        body_.append(chunk);
    }
    return !truncated_;
}

std::string describe_status(unsigned status) {
    return "status " + std::to_string(status);
}

probe_result response_check::verdict(unsigned status) {
    if (!status_.contains(status)) {
        return probe_result::fail(describe_status(status));
    }
    if (!regex_error_.empty()) {
        return probe_result::fail(regex_error_);
    }
    if (digester_) {
        auto got = digester_->finish();
        if (truncated_) {
            return probe_result::fail("body mismatch: body longer than " + std::to_string(limit_) +
                                      " bytes, digest not comparable");
        }
        if (got != expected_->bytes) {
            return probe_result::fail("body mismatch: digest " +
                                      to_string(body_digest{expected_->algo, got}));
        }
    }
    if (regex_) {
        try {
            if (!boost::regex_search(body_, *regex_)) {
                return probe_result::fail("body mismatch");
            }
        } catch (const std::exception&) {
            // boost::regex gives up on pathological backtracking rather than running forever.
            return probe_result::fail("body mismatch: body_regex too complex for this body");
        }
    }
    return probe_result::ok();
}

}  // namespace vigil::checkers
