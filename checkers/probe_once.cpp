#include "checkers/probe_once.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <string_view>

#include "checkers/body_digester.hpp"
#include "checkers/http_probe.hpp"

namespace vigil::checkers {

namespace {

template <class T>
void set(CURL* easy, CURLoption option, T value) {
    curl_easy_setopt(easy, option, value);
}

struct sink {
    body_digester md5{body_digest::algorithm::md5};
    body_digester sha256{body_digest::algorithm::sha256};
    std::size_t limit = 0;
    std::size_t length = 0;
    bool truncated = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* p) {
    auto* s = static_cast<sink*>(p);
    std::size_t bytes = size * count;
    std::size_t take = std::min(bytes, s->limit - s->length);
    s->md5.update(std::string_view(data, take));
    s->sha256.update(std::string_view(data, take));
    s->length += take;
    if (take < bytes) {
        s->truncated = true;
        return 0;
    }
    return bytes;
}

}  // namespace

probe_once_report probe_once(const std::string& url, const probe_once_options& options) {
    probe_once_report report;
    CURL* easy = curl_easy_init();
    if (easy == nullptr) {
        report.error = "curl_easy_init failed";
        return report;
    }
    CURLU* parsed = curl_url();
    bool https = false;
    curl_lists lists;
    char* host = nullptr;
    char* port = nullptr;
    char* scheme = nullptr;
    if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
        curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        report.error = "not a URL: " + url;
    }
    if (report.error.empty()) {
        https = std::string_view(scheme) == "https";
        http_spec http;
        http.method = options.method;
        http.version = options.version;
        http.host = options.host;
        http.ca_file = options.ca_file;
        http.tls_verify = !options.insecure;
        http_request_plan plan;
        plan.url = url;
        if (options.connect) {
            std::string literal = options.connect->address.is_v6()
                                      ? "[" + options.connect->address.to_string() + "]"
                                      : options.connect->address.to_string();
            plan.connect_to = std::string(host) + ":" + port + ":" + literal + ":" +
                              std::to_string(options.connect->port);
        }
        if (options.host) {
            plan.host_header = "Host: " + *options.host;
        }
        build_lists(plan, lists);
        char error[CURL_ERROR_SIZE] = {};
        configure_easy(easy, plan, http, https, options.timeout, lists, error);
        // "host!" makes curl take the address as it is, never as an interface name.
        std::string source = options.bind ? "host!" + options.bind->to_string() : std::string();
        if (options.bind) {
            set(easy, CURLOPT_INTERFACE, source.c_str());
        }
        if (std::string_view(scheme) != "http" && !https) {
            report.error = "only http and https URLs";
        } else {
            sink s;
            s.limit = options.body_limit;
            set(easy, CURLOPT_WRITEFUNCTION, &on_body);
            set(easy, CURLOPT_WRITEDATA, static_cast<void*>(&s));
            CURLcode code = curl_easy_perform(easy);
            long os_errno = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &report.status);
            curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
            curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &report.seconds);
            if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && s.truncated)) {
                report.ok = true;
                report.body_length = s.length;
                report.truncated = s.truncated;
                report.md5 = to_string(body_digest{body_digest::algorithm::md5, s.md5.finish()});
                report.sha256 =
                    to_string(body_digest{body_digest::algorithm::sha256, s.sha256.finish()});
            } else {
                report.error = describe_curl_failure(code, os_errno, error);
            }
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(parsed);
    curl_easy_cleanup(easy);
    return report;
}

}  // namespace vigil::checkers
