#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#pragma GCC diagnostic pop
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// Whether `received` so far settles a TCP expect: the pure half of the TCP probe.
enum class expect_state { matched, need_more, mismatched };
// `limit` bounds how much is read while waiting for the expected text.
expect_state match_expect(std::string_view received, std::string_view expect, bool eof,
                          std::size_t limit);

// A TCP connect check on Asio, optionally sending a payload and expecting text in the answer.
class tcp_probe final : public probe {
  public:
    // `options` must outlive the probe. `source`: the address connections are bound to.
    tcp_probe(boost::asio::any_io_executor executor, const ip_endpoint& target,
              const tcp_spec& options, std::optional<ip_address> source = std::nullopt);
    ~tcp_probe() override;

    void start(completion done) override;
    void cancel() override;

    struct run;

  private:
    boost::asio::any_io_executor executor_;
    ip_endpoint target_;
    const tcp_spec& options_;
    std::optional<ip_address> source_;
    std::shared_ptr<run> current_;
};

}  // namespace vigil::checkers
