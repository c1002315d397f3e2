#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace vigil::checkers {

// What one probe found. Check types produce only this; counting, scheduling and events live in
// the engine.
struct probe_result {
    bool success = false;
    // Words an operator reads in `real_server.down`: "status 503", "timeout", "connection
    // refused", "TLS verification failed: ...", "body mismatch", "script exit 1". "ok" on success.
    std::string reason;
    // A script with dynamic weight chose this weight; empty: the configured one.
    std::optional<unsigned> weight;
    std::chrono::milliseconds latency{0};

    static probe_result ok(std::optional<unsigned> w = std::nullopt) {
        return probe_result{true, "ok", w, {}};
    }
    static probe_result fail(std::string why) {
        return probe_result{false, std::move(why), {}, {}};
    }
};

}  // namespace vigil::checkers
