#include "checkers/http_probe.hpp"

#include <boost/asio/post.hpp>
#include <cstring>

namespace vigil::checkers {

namespace {

// Curl's setopt is a C varargs macro; wrapping it keeps the argument types explicit.
template <class T>
void set(CURL* easy, CURLoption option, T value) {
    curl_easy_setopt(easy, option, value);
}

std::string url_host(const ip_address& address) {
    return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

// A Host header value without a port, as a URL host.
std::string host_name_of(const std::string& host) {
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        return host.substr(0, close == std::string::npos ? host.size() : close + 1);
    }
    auto colon = host.find(':');
    return host.substr(0, colon);
}

}  // namespace

http_request_plan plan_request(bool https, const ip_endpoint& target, const http_spec& options) {
    http_request_plan plan;
    std::string name;
    if (https && options.sni && !options.sni->empty()) {
        name = *options.sni;
    } else if (options.host && !options.host->empty()) {
        name = host_name_of(*options.host);
    }
    auto literal = url_host(target.address);
    if (name.empty()) {
        name = literal;
    }
    auto port = std::to_string(target.port);
    plan.url = std::string(https ? "https://" : "http://") + name + ":" + port + options.path;
    if (name != literal) {
        plan.connect_to = name + ":" + port + ":" + literal + ":" + port;
    }
    if (options.host && !options.host->empty()) {
        plan.host_header = "Host: " + *options.host;
    }
    return plan;
}

curl_lists::~curl_lists() {
    curl_slist_free_all(connect_to);
    curl_slist_free_all(headers);
}

void build_lists(const http_request_plan& plan, curl_lists& lists) {
    if (!plan.connect_to.empty()) {
        lists.connect_to = curl_slist_append(nullptr, plan.connect_to.c_str());
    }
    if (!plan.host_header.empty()) {
        lists.headers = curl_slist_append(nullptr, plan.host_header.c_str());
    }
}

void configure_easy(CURL* easy, const http_request_plan& plan, const http_spec& options, bool https,
                    std::chrono::milliseconds timeout, const curl_lists& lists,
                    char* error_buffer) {
    set(easy, CURLOPT_URL, plan.url.c_str());
    set(easy, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
    // No signals: curl would otherwise use SIGALRM for DNS timeouts, which a daemon must not.
    set(easy, CURLOPT_NOSIGNAL, 1L);
    set(easy, CURLOPT_HTTP_VERSION,
        static_cast<long>(options.version == http_version::http_1_0 ? CURL_HTTP_VERSION_1_0
                                                                    : CURL_HTTP_VERSION_1_1));
    set(easy, CURLOPT_USERAGENT, "vigil-health-check");
    set(easy, CURLOPT_ERRORBUFFER, error_buffer);
    set(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    // Targets are addresses (CONNECT_TO), so the DNS cache would only fill with one entry per
    // real server, and curl walks the whole cache to prune it on every transfer: with 10,000 real
    // servers that walk cost more than the checks themselves.
    set(easy, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    if (lists.connect_to != nullptr) {
        set(easy, CURLOPT_CONNECT_TO, lists.connect_to);
    }
    if (lists.headers != nullptr) {
        set(easy, CURLOPT_HTTPHEADER, lists.headers);
    }
    if (options.method == http_method::head) {
        set(easy, CURLOPT_NOBODY, 1L);
    }
    if (!options.reuse_connection) {
        // Each probe must prove the server still accepts connections.
        set(easy, CURLOPT_FRESH_CONNECT, 1L);
        set(easy, CURLOPT_FORBID_REUSE, 1L);
    }
    if (https) {
        set(easy, CURLOPT_SSL_VERIFYPEER, options.tls_verify ? 1L : 0L);
        set(easy, CURLOPT_SSL_VERIFYHOST, options.tls_verify ? 2L : 0L);
        if (options.ca_file) {
            set(easy, CURLOPT_CAINFO, options.ca_file->c_str());
        }
    }
}

std::string describe_curl_failure(CURLcode code, long os_errno, const char* error_buffer) {
    std::string detail = error_buffer != nullptr && error_buffer[0] != '\0'
                             ? std::string(error_buffer)
                             : std::string(curl_easy_strerror(code));
    switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
            return "timeout";
        case CURLE_COULDNT_CONNECT:
            if (os_errno == ECONNREFUSED) {
                return "connection refused";
            }
            if (os_errno != 0) {
                return std::string("connect failed: ") + std::strerror(static_cast<int>(os_errno));
            }
            return "connect failed: " + detail;
        case CURLE_INTERFACE_FAILED:
            return "bind failed: " + detail;
        case CURLE_PEER_FAILED_VERIFICATION:
            return "TLS verification failed: " + detail;
        case CURLE_SSL_CONNECT_ERROR:
            return "TLS handshake failed: " + detail;
        case CURLE_SSL_CACERT_BADFILE:
            return "TLS CA file unusable: " + detail;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
            if (os_errno == ECONNRESET) {
                return "connection reset";
            }
            return "connection error: " + detail;
        case CURLE_GOT_NOTHING:
            return "empty reply";
        case CURLE_PARTIAL_FILE:
            return "body cut short";
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_UNSUPPORTED_PROTOCOL:
            return "invalid HTTP response: " + detail;
        default:
            return detail;
    }
}

}  // namespace vigil::checkers
