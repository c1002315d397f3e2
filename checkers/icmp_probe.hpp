#pragma once

#include "base/address.hpp"
#include "checkers/icmp_socket.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// One echo request per run through the family's shared ICMP socket; the reply is success, and
// silence ends in the engine's timeout.
class icmp_probe final : public probe {
  public:
    // `socket` (the target's family) must outlive the probe.
    icmp_probe(icmp_socket& socket, const ip_address& target);
    ~icmp_probe() override;

    void start(completion done) override;
    void cancel() override;

  private:
    icmp_socket& socket_;
    ip_address target_;
    std::optional<icmp_socket::ticket> current_;
};

}  // namespace vigil::checkers
