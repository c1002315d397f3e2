#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe.hpp"
#include "checkers/tls_client.hpp"

namespace vigil::checkers {

// What every plain-HTTP probe of one engine shares. Reads happen synchronously inside a
// readiness handler on the one loop thread, so one receive buffer serves all probes: 10,000
// probes do not hold 10,000 buffers.
class http_client_context {
  public:
    explicit http_client_context(boost::asio::any_io_executor executor);

    boost::asio::any_io_executor executor() const { return executor_; }
    std::span<char> receive_buffer() { return receive_buffer_; }
    tls_client_contexts& tls_contexts() { return tls_contexts_; }

    // For benchmarks and status: how many connections were opened and requests sent, and of the
    // TLS handshakes completed how many resumed a session.
    std::uint64_t connections_opened = 0;
    std::uint64_t requests_sent = 0;
    std::uint64_t tls_handshakes = 0;
    std::uint64_t tls_resumed = 0;

  private:
    boost::asio::any_io_executor executor_;
    std::vector<char> receive_buffer_;
    tls_client_contexts tls_contexts_;
};

// An HTTP/1.1 (or 1.0) or HTTPS check on Asio, without libcurl: the request bytes are built once
// per URL, each run connects (or reuses the kept-alive connection with `reuse_connection`), sends
// them in one write, and feeds what arrives to http_response_parser and response_check. A check
// of several URLs fetches them in order in one run, each on a fresh connection unless the
// previous answer was kept alive, and fails at the first that does not pass, naming its path. A
// closed connection is reset (SO_LINGER 0), so thousands of checks a second leave no TIME_WAIT
// behind. The engine's scheduler times runs out; the probe has no timer of its own. Steady state
// allocates nothing for plain HTTP.
//
// HTTPS runs OpenSSL straight over the non-blocking socket (Asio only waits for readiness), so
// decrypted bytes land in the shared receive buffer like plain ones. The session of one check is
// resumed by the next (tls_session_reuse, as HAProxy does), with a full, verified handshake at
// least every tls_session_max_age and after any failed check.
class http_client_probe final : public probe {
  public:
    // `options` must outlive the probe (the engine keeps one copy per probe key). `source`: the
    // address connections are bound to (a check's `bind`).
    http_client_probe(http_client_context& context, const ip_endpoint& target,
                      const http_spec& options, bool https = false,
                      std::optional<ip_address> source = std::nullopt);
    ~http_client_probe() override;

    void start(completion done) override;
    void cancel() override;

  private:
    struct connection;
    // Shared with the handlers in flight, so a run cancelled or a probe destroyed while a
    // handler is queued leaves that handler something valid to find stale.
    std::shared_ptr<connection> connection_;
};

}  // namespace vigil::checkers
