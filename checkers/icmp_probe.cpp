#include "checkers/icmp_probe.hpp"

#include <chrono>

namespace vigil::checkers {

icmp_probe::icmp_probe(icmp_socket& socket, const ip_address& target)
    : socket_(socket), target_(target) {}

icmp_probe::~icmp_probe() {
    cancel();
}

void icmp_probe::cancel() {
    if (current_) {
        socket_.forget(*current_);
        current_.reset();
    }
}

void icmp_probe::start(completion done) {
    cancel();
    auto started = std::chrono::steady_clock::now();
    current_ = socket_.send(target_, [this, started, done = std::move(done)](std::string error) {
        current_.reset();
        auto result = error.empty() ? probe_result::ok() : probe_result::fail(std::move(error));
        result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - started);
        done(std::move(result));
    });
}

}  // namespace vigil::checkers
