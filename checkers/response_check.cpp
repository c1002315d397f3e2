#include "checkers/response_check.hpp"

#include <algorithm>

namespace vigil::checkers {

namespace {

void compile(const std::optional<std::string>& pattern, const char* key,
             std::optional<boost::regex>& out, std::string& error) {
    if (!pattern) {
        return;
    }
    try {
        out.emplace(*pattern, boost::regex::perl);
    } catch (const std::exception& e) {
        if (error.empty()) {
            error = std::string(key) + " does not compile: " + e.what();
        }
    }
}

}  // namespace

response_check::response_check(const http_spec& options)
    : response_check(http_url{options.path, options.host, options.status, options.body_regex,
                              options.body_regex_absent, options.digest},
                     options.body_limit) {}

response_check::response_check(const http_url& url, std::size_t body_limit)
    : limit_(std::max<std::size_t>(body_limit, 1)), status_(url.status), expected_(url.digest) {
    compile(url.body_regex, "body_regex", regex_, regex_error_);
    compile(url.body_regex_absent, "body_regex_absent", absent_regex_, regex_error_);
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
    if (regex_ || absent_regex_) {
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
    if (absent_regex_) {
        try {
            if (boost::regex_search(body_, *absent_regex_)) {
                return probe_result::fail("body mismatch: body_regex_absent matches");
            }
        } catch (const std::exception&) {
            // Not proven absent: a check must not pass on a search that gave up.
            return probe_result::fail("body mismatch: body_regex_absent too complex for this body");
        }
    }
    return probe_result::ok();
}

}  // namespace vigil::checkers
