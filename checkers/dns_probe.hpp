#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#pragma GCC diagnostic pop
#include <memory>

#include "base/address.hpp"
#include "base/random_source.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// One DNS query per run, over UDP (again over TCP when the answer is truncated) or TCP only,
// judged by judge_dns_response. Each run has a fresh query ID from the random source, and the
// UDP socket is connected, so only the server's own datagrams are read.
class dns_probe final : public probe {
  public:
    // `options` and `random` must outlive the probe.
    dns_probe(boost::asio::any_io_executor executor, const ip_endpoint& target,
              const dns_spec& options, random_source& random);
    ~dns_probe() override;

    void start(completion done) override;
    void cancel() override;

    struct run;

  private:
    boost::asio::any_io_executor executor_;
    ip_endpoint target_;
    const dns_spec& options_;
    random_source& random_;
    std::shared_ptr<run> current_;
};

}  // namespace vigil::checkers
