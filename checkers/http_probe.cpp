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
    set(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
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

http_probe::http_probe(curl_multi& multi, bool https, const ip_endpoint& target,
                       const http_spec& options, std::chrono::milliseconds timeout)
    : multi_(multi),
      https_(https),
      options_(options),
      // The engine times the probe out; curl's own limit is a backstop a little later so that a
      // transfer can never outlive its run.
      timeout_(timeout + std::chrono::seconds(1)),
      plan_(plan_request(https, target, options_)),
      judge_(options_) {
    build_lists(plan_, lists_);
}

http_probe::~http_probe() {
    cancel();
}

void http_probe::start(completion done) {
    cancel();
    done_ = std::move(done);
    judge_.reset();
    error_ = std::make_unique<char[]>(CURL_ERROR_SIZE);
    started_ = std::chrono::steady_clock::now();
    CURL* easy = multi_.acquire_easy();
    if (easy == nullptr) {
        auto cb = std::move(done_);
        boost::asio::post(multi_.executor(), [cb] { cb(probe_result::fail("out of memory")); });
        return;
    }
    configure_easy(easy, plan_, options_, https_, timeout_, lists_, error_.get());
    set(easy, CURLOPT_WRITEFUNCTION, &http_probe::on_body);
    set(easy, CURLOPT_WRITEDATA, static_cast<void*>(this));
    easy_ = easy;
    if (!multi_.add(easy, [this](CURL* e, CURLcode code) { finished(e, code); })) {
        easy_ = nullptr;
        multi_.release_easy(easy);
        auto cb = std::move(done_);
        boost::asio::post(multi_.executor(),
                          [cb] { cb(probe_result::fail("curl refused the transfer")); });
    }
}

void http_probe::cancel() {
    if (easy_ != nullptr) {
        multi_.remove(easy_);
        multi_.release_easy(easy_);
        easy_ = nullptr;
        done_ = nullptr;
        error_.reset();
    }
}

std::size_t http_probe::on_body(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<http_probe*>(self_ptr);
    std::size_t bytes = size * count;
    // Returning less than was offered makes curl stop with CURLE_WRITE_ERROR: this, not
    // CURLOPT_MAXFILESIZE, bounds a chunked body of unknown length.
    return self->judge_.feed(std::string_view(data, bytes)) ? bytes : 0;
}

void http_probe::finished(CURL* easy, CURLcode code) {
    long status = 0;
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    easy_ = nullptr;
    auto done = std::move(done_);
    done_ = nullptr;
    probe_result result;
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && judge_.truncated())) {
        result = judge_.verdict(static_cast<unsigned>(status));
    } else {
        result = probe_result::fail(describe_curl_failure(code, os_errno, error_.get()));
    }
    error_.reset();
    multi_.release_easy(easy);
    result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    if (done) {
        done(std::move(result));
    }
}

}  // namespace vigil::checkers
