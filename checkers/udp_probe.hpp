#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#pragma GCC diagnostic pop
#include <boost/regex.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.hpp"
#include "base/duration.hpp"
#include "base/parse_result.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// "0a 0B ff" or "0a0bff" as bytes: how config writes a binary payload.
parse_result<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view text);

// Judges a UDP reply against the check's expectations: the pure half of the UDP probe.
class udp_reply_check {
  public:
    // The regex is compiled once here; config validation already proved it compiles.
    explicit udp_reply_check(const udp_spec& options);
    // "" when the reply is what the check wants, else the reason.
    std::string judge(std::string_view reply) const;

  private:
    std::string expect_;
    std::optional<boost::regex> regex_;
    std::string regex_error_;
};

// Sends one datagram on a connected UDP socket and waits for a reply. The socket asks for ICMP
// errors (IP_RECVERR / IPV6_RECVERR), so a closed port fails the probe at once with "port
// unreachable" instead of waiting for the timeout.
class udp_probe final : public probe {
  public:
    // `options` must outlive the probe. With require_reply off, the probe waits for an error
    // for three quarters of `timeout`, then passes, so the engine's timeout never overtakes it.
    udp_probe(boost::asio::any_io_executor executor, const ip_endpoint& target,
              const udp_spec& options, duration timeout);
    ~udp_probe() override;

    void start(completion done) override;
    void cancel() override;

    struct run;

  private:
    boost::asio::any_io_executor executor_;
    ip_endpoint target_;
    const udp_spec& options_;
    udp_reply_check reply_check_;
    duration quiet_wait_;
    std::shared_ptr<run> current_;
};

}  // namespace vigil::checkers
