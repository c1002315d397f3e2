#include "checkers/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace vigil::checkers {

namespace {

std::string openssl_reason() {
    unsigned long code = ERR_get_error();
    if (code == 0) {
        return {};
    }
    const char* reason = ERR_reason_error_string(code);
    ERR_clear_error();
    return reason != nullptr ? std::string(reason) : std::to_string(code);
}

// A Host header value without its port ("[::1]:8443" gives "::1", "a.example:81" gives
// "a.example").
std::string host_name_of(const std::string& host) {
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        return host.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    }
    return host.substr(0, host.find(':'));
}

}  // namespace

SSL_CTX* tls_client_contexts::get(const http_spec& options, std::string& error) {
    auto key = std::make_pair(options.tls_verify, options.ca_file.value_or(std::string()));
    if (auto found = contexts_.find(key); found != contexts_.end()) {
        return found->second.get();
    }
    ssl_ctx_ptr context(SSL_CTX_new(TLS_client_method()));
    if (!context) {
        error = "TLS context: " + openssl_reason();
        return nullptr;
    }
    // Servers that end a close-delimited body without close_notify are common; the HTTP parser
    // judges whether the body is complete, so an unannounced end is simply the end.
    SSL_CTX_set_options(context.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
    // The probe keeps its own session; no process-wide client cache to evict it from.
    SSL_CTX_set_session_cache_mode(context.get(), SSL_SESS_CACHE_OFF);
    if (options.tls_verify) {
        bool loaded = options.ca_file ? SSL_CTX_load_verify_locations(
                                            context.get(), options.ca_file->c_str(), nullptr) == 1
                                      : SSL_CTX_set_default_verify_paths(context.get()) == 1;
        if (!loaded) {
            error = "TLS CA file unusable: " + openssl_reason();
            return nullptr;
        }
    }
    auto* raw = context.get();
    contexts_.emplace(std::move(key), std::move(context));
    return raw;
}

tls_peer_name tls_name_for(const ip_endpoint& target, const http_spec& options) {
    if (options.sni && !options.sni->empty()) {
        return {*options.sni, parse_address(*options.sni).ok()};
    }
    if (options.host && !options.host->empty()) {
        auto name = host_name_of(*options.host);
        return {name, parse_address(name).ok()};
    }
    return {target.address.to_string(), true};
}

bool prepare_tls_connection(SSL* ssl, const tls_peer_name& peer, const http_spec& options,
                            SSL_SESSION* resume, std::string& error) {
    ERR_clear_error();
    // SSL_set_tlsext_host_name() spelled out: the macro casts in C style.
    if (!peer.is_address && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                     const_cast<char*>(peer.name.c_str())) != 1) {
        error = "TLS handshake failed: SNI name refused: " + openssl_reason();
        return false;
    }
    if (options.tls_verify) {
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
        auto* parameters = SSL_get0_param(ssl);
        bool named = peer.is_address
                         ? X509_VERIFY_PARAM_set1_ip_asc(parameters, peer.name.c_str()) == 1
                         : SSL_set1_host(ssl, peer.name.c_str()) == 1;
        if (!named) {
            error = "TLS verification failed: name " + peer.name + " refused";
            return false;
        }
    } else {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
    }
    if (resume != nullptr && SSL_set_session(ssl, resume) != 1) {
        ERR_clear_error();  // a session OpenSSL will not resume costs a full handshake, no more
    }
    return true;
}

std::string describe_tls_failure(SSL* ssl, int ssl_error, int os_error) {
    long verified = SSL_get_verify_result(ssl);
    if (verified != X509_V_OK) {
        ERR_clear_error();
        return std::string("TLS verification failed: ") + X509_verify_cert_error_string(verified);
    }
    if (ssl_error == SSL_ERROR_SYSCALL) {
        auto reason = openssl_reason();
        if (os_error == ECONNRESET) {
            return "TLS handshake failed: connection reset";
        }
        if (os_error != 0) {
            return std::string("TLS handshake failed: ") + std::strerror(os_error);
        }
        return "TLS handshake failed: " +
               (reason.empty() ? std::string("connection closed") : reason);
    }
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return "TLS handshake failed: connection closed";
    }
    auto reason = openssl_reason();
    return "TLS handshake failed: " + (reason.empty() ? std::string("protocol error") : reason);
}

}  // namespace vigil::checkers
