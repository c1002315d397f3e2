#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/address.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/curl_multi.hpp"
#include "checkers/probe.hpp"
#include "checkers/response_check.hpp"

namespace vigil::checkers {

// How one HTTP(S) request is built, shared by the probe on the loop and `vigil probe`.
struct http_request_plan {
    std::string url;          // scheme://name:port/path
    std::string connect_to;   // CURLOPT_CONNECT_TO entry, empty when the URL names the address
    std::string host_header;  // "Host: x", empty to let curl write it from the URL
};

// The URL keeps the configured names (SNI, else Host) so TLS verifies and sends those, while
// CURLOPT_CONNECT_TO sends the connection to `target`: no DNS lookup, and the certificate is
// checked against the name the operator wrote.
http_request_plan plan_request(bool https, const ip_endpoint& target, const http_spec& options);

// Sets every option of one request on an easy handle (reset or fresh). `slists` keeps the curl
// lists alive for as long as the handle runs.
struct curl_lists {
    curl_slist* connect_to = nullptr;
    curl_slist* headers = nullptr;
    curl_lists() = default;
    curl_lists(const curl_lists&) = delete;
    curl_lists& operator=(const curl_lists&) = delete;
    ~curl_lists();
};
void configure_easy(CURL* easy, const http_request_plan& plan, const http_spec& options, bool https,
                    std::chrono::milliseconds timeout, const curl_lists& lists, char* error_buffer);
void build_lists(const http_request_plan& plan, curl_lists& lists);

// Words for a failed transfer: "timeout", "connection refused", "TLS verification failed: ...".
std::string describe_curl_failure(CURLcode code, long os_errno, const char* error_buffer);

// An HTTP or HTTPS check on the shared curl_multi. `options` must outlive the probe (the engine
// keeps one copy per probe key, so 10,000 probes do not hold three copies each).
class http_probe final : public probe {
  public:
    http_probe(curl_multi& multi, bool https, const ip_endpoint& target, const http_spec& options,
               std::chrono::milliseconds timeout);
    ~http_probe() override;

    void start(completion done) override;
    void cancel() override;

  private:
    static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
    void finished(CURL* easy, CURLcode code);

    curl_multi& multi_;
    bool https_;
    const http_spec& options_;
    std::chrono::milliseconds timeout_;
    http_request_plan plan_;
    curl_lists lists_;
    response_check judge_;
    CURL* easy_ = nullptr;  // while a run is going
    completion done_;
    std::chrono::steady_clock::time_point started_{};
    // Curl's error text, only while a run is going (CURL_ERROR_SIZE bytes).
    std::unique_ptr<char[]> error_;
};

}  // namespace vigil::checkers
