#include "checkers/grpc_probe.hpp"

#include <boost/asio/post.hpp>

namespace vigil::checkers {

namespace {

template <class T>
void set(CURL* easy, CURLoption option, T value) {
    curl_easy_setopt(easy, option, value);
}

http_spec as_http(const grpc_spec& options) {
    http_spec http;
    http.path = std::string(grpc_health_path);
    http.tls_verify = options.tls_verify;
    http.ca_file = options.ca_file;
    http.sni = options.sni;
    return http;
}

}  // namespace

grpc_probe::grpc_probe(curl_multi& multi, const ip_endpoint& target, const grpc_spec& options,
                       std::chrono::milliseconds timeout)
    : multi_(multi),
      options_(options),
      // The engine times the probe out; curl's own limit is a backstop a little later.
      timeout_(timeout + std::chrono::seconds(1)),
      http_(as_http(options)),
      plan_(plan_request(options.tls, target, http_)),
      request_(encode_grpc_health_request(options.service)) {
    build_lists(plan_, lists_);
    // gRPC over HTTP/2: the content type, trailers, and the deadline (the server may give up
    // when the check would anyway). No "Expect: 100-continue" for a 10-byte body.
    for (auto header :
         {std::string("Content-Type: application/grpc"), std::string("TE: trailers"),
          "grpc-timeout: " + std::to_string(timeout.count()) + "m", std::string("Expect:")}) {
        headers_ = curl_slist_append(headers_, header.c_str());
    }
}

grpc_probe::~grpc_probe() {
    cancel();
    curl_slist_free_all(headers_);
}

void grpc_probe::start(completion done) {
    cancel();
    done_ = std::move(done);
    call_.reset();
    error_ = std::make_unique<char[]>(CURL_ERROR_SIZE);
    started_ = std::chrono::steady_clock::now();
    CURL* easy = multi_.acquire_easy();
    if (easy == nullptr) {
        auto cb = std::move(done_);
        boost::asio::post(multi_.executor(), [cb] { cb(probe_result::fail("out of memory")); });
        return;
    }
    configure_easy(easy, plan_, http_, options_.tls, timeout_, lists_, error_.get());
    set(easy, CURLOPT_HTTP_VERSION,
        static_cast<long>(options_.tls ? CURL_HTTP_VERSION_2TLS
                                       : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
    set(easy, CURLOPT_HTTPHEADER, headers_);
    set(easy, CURLOPT_POST, 1L);
    set(easy, CURLOPT_POSTFIELDS, request_.data());
    set(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request_.size()));
    set(easy, CURLOPT_WRITEFUNCTION, &grpc_probe::on_body);
    set(easy, CURLOPT_WRITEDATA, static_cast<void*>(this));
    set(easy, CURLOPT_HEADERFUNCTION, &grpc_probe::on_header);
    set(easy, CURLOPT_HEADERDATA, static_cast<void*>(this));
    easy_ = easy;
    if (!multi_.add(easy, [this](CURL* e, CURLcode code) { finished(e, code); })) {
        easy_ = nullptr;
        multi_.release_easy(easy);
        auto cb = std::move(done_);
        boost::asio::post(multi_.executor(),
                          [cb] { cb(probe_result::fail("curl refused the transfer")); });
    }
}

void grpc_probe::cancel() {
    if (easy_ != nullptr) {
        multi_.remove(easy_);
        multi_.release_easy(easy_);
        easy_ = nullptr;
        done_ = nullptr;
        error_.reset();
    }
}

std::size_t grpc_probe::on_body(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<grpc_probe*>(self_ptr);
    std::size_t bytes = size * count;
    return self->call_.feed_body(std::string_view(data, bytes)) ? bytes : 0;
}

std::size_t grpc_probe::on_header(char* data, std::size_t size, std::size_t count, void* self_ptr) {
    auto* self = static_cast<grpc_probe*>(self_ptr);
    std::size_t bytes = size * count;
    // Headers and, for HTTP/2, trailers: curl hands both over here, one line at a time.
    self->call_.feed_header(std::string_view(data, bytes));
    return bytes;
}

void grpc_probe::finished(CURL* easy, CURLcode code) {
    long status = 0;
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    easy_ = nullptr;
    auto done = std::move(done_);
    done_ = nullptr;
    probe_result result;
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && call_.overflowed())) {
        result = call_.verdict(static_cast<unsigned>(status));
    } else {
        result = probe_result::fail(describe_curl_failure(code, os_errno, error_.get()));
    }
    error_.reset();
    // A reset handle must not keep pointing at this probe's callbacks or headers.
    multi_.release_easy(easy);
    result.latency = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_);
    if (done) {
        done(std::move(result));
    }
}

}  // namespace vigil::checkers
