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

// How `vigil probe` builds one HTTP(S) request with libcurl (the checks on the loop use
// http_client_probe).
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

}  // namespace vigil::checkers
