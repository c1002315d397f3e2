#include "checkers/http_request.hpp"

namespace vigil::checkers {

std::string build_http_request(const ip_endpoint& target, const http_spec& options, bool keep_alive,
                               bool https) {
    std::string host;
    if (options.host && !options.host->empty()) {
        host = *options.host;
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
    request += options.path.empty() ? "/" : options.path;
    request += " HTTP/1.1\r\nHost: ";
    request += host;
    request += "\r\nUser-Agent: vigil-health-check\r\nAccept: */*\r\n";
    if (!keep_alive) {
        request += "Connection: close\r\n";
    }
    request += "\r\n";
    return request;
}

}  // namespace vigil::checkers
