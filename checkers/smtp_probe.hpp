#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#pragma GCC diagnostic pop
#include <memory>
#include <string>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// An SMTP check on Asio: connect, read the 220 greeting, EHLO (or HELO), expect 250, QUIT
// (smtp_dialogue decides each step). A slow or silent server is the engine's timeout; a huge
// or endless reply fails as soon as it oversteps the reader's bounds.
class smtp_probe final : public probe {
  public:
    // `options` must outlive the probe. An empty helo_name is this host's name.
    smtp_probe(boost::asio::any_io_executor executor, const ip_endpoint& target,
               const smtp_spec& options);
    ~smtp_probe() override;

    void start(completion done) override;
    void cancel() override;

    struct run;

  private:
    boost::asio::any_io_executor executor_;
    ip_endpoint target_;
    std::string helo_name_;
    std::shared_ptr<run> current_;
};

}  // namespace vigil::checkers
