#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/curl_multi.hpp"
#include "checkers/grpc_health.hpp"
#include "checkers/http_probe.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// A gRPC health check (grpc.health.v1.Health/Check) on the shared curl_multi: one POST over
// HTTP/2, cleartext with prior knowledge (h2c) or TLS with ALPN h2, judged by grpc_health_call.
class grpc_probe final : public probe {
  public:
    // `options` must outlive the probe.
    grpc_probe(curl_multi& multi, const ip_endpoint& target, const grpc_spec& options,
               std::chrono::milliseconds timeout);
    ~grpc_probe() override;

    void start(completion done) override;
    void cancel() override;

  private:
    static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
    static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
    void finished(CURL* easy, CURLcode code);

    curl_multi& multi_;
    const grpc_spec& options_;
    std::chrono::milliseconds timeout_;
    http_spec http_;  // the parts of an https check the request shares (TLS, SNI)
    http_request_plan plan_;
    curl_lists lists_;
    curl_slist* headers_ = nullptr;
    std::string request_;
    grpc_health_call call_;
    CURL* easy_ = nullptr;  // while a run is going
    completion done_;
    std::chrono::steady_clock::time_point started_{};
    std::unique_ptr<char[]> error_;
};

}  // namespace vigil::checkers
