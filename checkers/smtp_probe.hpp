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
#include "checkers/tls_client.hpp"

namespace vigil::checkers {

// An SMTP check on Asio: connect, read the 220 greeting, EHLO (or HELO), expect 250, QUIT
// (smtp_dialogue decides each step). A slow or silent server is the engine's timeout; a huge
// or endless reply fails as soon as it oversteps the reader's bounds.
//
// With `starttls`, the dialogue's STARTTLS step hands the same socket to OpenSSL (tls_client):
// SNI and the name verified are `sni`, else the address probed; the certificate is verified
// against `ca_file` or the system's CAs unless tls_verify is off. The rest of the dialogue runs
// over TLS. Every run is a fresh connection and a full handshake: no session is resumed.
class smtp_probe final : public probe {
  public:
    // `options` and `tls_contexts` must outlive the probe. An empty helo_name is this host's
    // name. `tls_contexts` is used only with starttls.
    smtp_probe(boost::asio::any_io_executor executor, const ip_endpoint& target,
               const smtp_spec& options, tls_client_contexts& tls_contexts);
    ~smtp_probe() override;

    void start(completion done) override;
    void cancel() override;

    struct run;

  private:
    boost::asio::any_io_executor executor_;
    ip_endpoint target_;
    std::string helo_name_;
    bool starttls_;
    tls_client_contexts& tls_contexts_;
    // What tls_client reads (verify, CA file, SNI), and the name it sends and verifies.
    http_spec tls_options_;
    tls_peer_name tls_peer_;
    std::shared_ptr<run> current_;
};

}  // namespace vigil::checkers
