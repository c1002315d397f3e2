#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"

namespace vigil::checkers {

struct ssl_ctx_free {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct ssl_free {
    void operator()(SSL* s) const { SSL_free(s); }
};
struct ssl_session_free {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;
using ssl_session_ptr = std::unique_ptr<SSL_SESSION, ssl_session_free>;

// The OpenSSL client contexts of one engine, one per distinct (verify, CA file): 10,000 HTTPS
// probes against the same CA share one context and one parsed CA store.
class tls_client_contexts {
  public:
    // Null with `error` set when the CA file cannot be loaded.
    SSL_CTX* get(const http_spec& options, std::string& error);

  private:
    std::map<std::pair<bool, std::string>, ssl_ctx_ptr> contexts_;
};

// The name TLS sends (SNI) and verifies: the configured SNI, else the Host header's host name,
// else the address probed (which is verified as an IP address and not sent as SNI, as curl does).
struct tls_peer_name {
    std::string name;
    bool is_address = false;
};
tls_peer_name tls_name_for(const ip_endpoint& target, const http_spec& options);

// Sets SNI, certificate and host verification and, when given, the session to resume on a new
// client connection. False with `error` set when OpenSSL refuses one of them.
bool prepare_tls_connection(SSL* ssl, const tls_peer_name& peer, const http_spec& options,
                            SSL_SESSION* resume, std::string& error);

// Why a handshake failed, in the words of the probe's other failures: "TLS verification failed:
// certificate has expired" or "TLS handshake failed: <OpenSSL's reason>". `ssl_error` is
// SSL_get_error's answer, `os_error` errno after it.
std::string describe_tls_failure(SSL* ssl, int ssl_error, int os_error);

// Sessions are resumed for at most this long after a full handshake, so that a certificate that
// expired or was replaced by a bad one is verified again within minutes, not after the server's
// ticket lifetime (often hours; TLS 1.3 renews the ticket on every resumption).
inline constexpr std::chrono::seconds tls_session_max_age{300};

}  // namespace vigil::checkers
