#include "checkers/http_request.hpp"
#include "checkers/tls_client.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::checkers;

namespace {

ip_endpoint endpoint(const char* address, std::uint16_t port) {
    return ip_endpoint{*parse_address(address), port};
}

}  // namespace

TEST_CASE("the request names the method, path and the address probed as Host") {
    http_spec o;
    o.path = "/health";
    CHECK(build_http_request(endpoint("10.0.0.1", 8080), o, false) ==
          "GET /health HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: vigil-health-check\r\n"
          "Accept: */*\r\nConnection: close\r\n\r\n");
}

TEST_CASE("port 80 is left out of Host, IPv6 addresses are bracketed") {
    http_spec o;
    CHECK(build_http_request(endpoint("10.0.0.1", 80), o, true)
              .starts_with("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n"));
    CHECK(build_http_request(endpoint("2001:db8::1", 8080), o, true)
              .find("Host: [2001:db8::1]:8080\r\n") != std::string::npos);
}

TEST_CASE("a configured Host and HEAD are sent; reuse asks for no close") {
    http_spec o;
    o.method = http_method::head;
    o.host = "www.example.com";
    auto r = build_http_request(endpoint("10.0.0.1", 8080), o, true);
    CHECK(r.starts_with("HEAD / HTTP/1.1\r\nHost: www.example.com\r\n"));
    CHECK(r.find("Connection: close") == std::string::npos);
}

TEST_CASE("HTTPS leaves out port 443 and names the SNI host when no Host is configured") {
    http_spec o;
    CHECK(build_http_request(endpoint("10.0.0.1", 443), o, false, true)
              .starts_with("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n"));
    CHECK(build_http_request(endpoint("10.0.0.1", 80), o, false, true)
              .starts_with("GET / HTTP/1.1\r\nHost: 10.0.0.1:80\r\n"));
    o.sni = "www.example.test";
    CHECK(build_http_request(endpoint("10.0.0.1", 8443), o, false, true)
              .starts_with("GET / HTTP/1.1\r\nHost: www.example.test:8443\r\n"));
    o.host = "other.example";
    CHECK(build_http_request(endpoint("10.0.0.1", 8443), o, false, true)
              .starts_with("GET / HTTP/1.1\r\nHost: other.example\r\n"));
}

TEST_CASE("TLS names the SNI, else the Host's name, else verifies the address") {
    http_spec o;
    auto by_address = tls_name_for(endpoint("2001:db8::1", 443), o);
    CHECK(by_address.name == "2001:db8::1");
    CHECK(by_address.is_address);
    o.host = "[2001:db8::2]:8443";
    auto bracketed = tls_name_for(endpoint("2001:db8::1", 443), o);
    CHECK(bracketed.name == "2001:db8::2");
    CHECK(bracketed.is_address);
    o.host = "www.example.com:8443";
    auto named = tls_name_for(endpoint("10.0.0.1", 443), o);
    CHECK(named.name == "www.example.com");
    CHECK_FALSE(named.is_address);
    o.sni = "sni.example.com";
    CHECK(tls_name_for(endpoint("10.0.0.1", 443), o).name == "sni.example.com");
}

TEST_CASE("HTTP/1.0 is written on the request line, with Host and Connection: close") {
    http_spec o;
    o.version = http_version::http_1_0;
    o.path = "/health";
    CHECK(build_http_request(endpoint("10.0.0.1", 8080), o, false) ==
          "GET /health HTTP/1.0\r\nHost: 10.0.0.1:8080\r\nUser-Agent: vigil-health-check\r\n"
          "Accept: */*\r\nConnection: close\r\n\r\n");
}

TEST_CASE("one URL of a list brings its own path and Host; the spec its method and version") {
    http_spec o;
    o.method = http_method::head;
    http_url url;
    url.path = "/b?x=1";
    url.host = "b.example";
    CHECK(build_http_request(endpoint("10.0.0.1", 80), o, url, false)
              .starts_with("HEAD /b?x=1 HTTP/1.1\r\nHost: b.example\r\n"));
    url.host.reset();
    CHECK(build_http_request(endpoint("10.0.0.1", 80), o, url, false)
              .starts_with("HEAD /b?x=1 HTTP/1.1\r\nHost: 10.0.0.1\r\n"));
}
