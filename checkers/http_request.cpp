#include "checkers/http_request.hpp"

namespace vigil::checkers {

std::string build_http_request(const ip_endpoint& target, const http_spec& options, bool keep_alive,
                               bool https) {
    http_url url;
    url.path = options.path;
    url.host = options.host;
    return build_http_request(target, options, url, keep_alive, https);
}

std::string build_http_request(const ip_endpoint& target, const http_spec& options,
                               const http_url& url, bool keep_alive, bool https) {
    std::string host;
    if (url.host && !url.host->empty()) {
        host = *url.host;
    } else {
        if (https && options.sni && !options.sni->empty()) {
            host = *options.sni;
        } else {
            host = target.address.is_v6() ? "[" + target.address.to_string() + "]"
                                          : target.address.to_string();
        }
        if (target.port != (https ? 443 : 80)) {
            host += ":" + std::to_string(target.port);
        }
    }
    std::string request = options.method == http_method::head ? "HEAD " : "GET ";
    request += url.path.empty() ? "/" : url.path;
    // HTTP/1.0 still sends Host: name-based virtual hosts need it, and keepalived sends it too.
    request +=
        options.version == http_version::http_1_0 ? " HTTP/1.0\r\nHost: " : " HTTP/1.1\r\nHost: ";
    request += host;
    request += "\r\nUser-Agent: vigil-health-check\r\nAccept: */*\r\n";
    if (!keep_alive) {
        request += "Connection: close\r\n";
    }
    request += "\r\n";
    return request;
}

}  // namespace vigil::checkers
