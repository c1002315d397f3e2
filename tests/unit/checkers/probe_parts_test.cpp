#include <doctest/doctest.h>

#include "checkers/check_spec.hpp"
#include "checkers/http_probe.hpp"
#include "checkers/script_probe.hpp"
#include "checkers/tcp_probe.hpp"

using namespace vigil;
using namespace vigil::checkers;
using namespace std::chrono_literals;

namespace {

ip_endpoint ep(const char* text) {
    return *parse_endpoint(text);
}

checked_server_spec server(const char* vs, const char* address) {
    checked_server_spec s;
    s.checks.emplace_back();
    s.virtual_server = vs;
    s.endpoint = ep(address);
    s.name = std::string(vs) + "/" + address;
    s.checks.front().type = check_type::http;
    s.checks.front().http.path = "/health";
    return s;
}

// The probe key of a server's one check.
probe_key key_of(const checked_server_spec& s) {
    return checkers::key_of(s.checks.front(), s.endpoint);
}

http_url url_at(const char* path) {
    http_url url;
    url.path = path;
    return url;
}

}  // namespace

TEST_CASE("identical checks of one address on two virtual servers share a probe key") {
    auto a = server("web", "192.0.2.1:80");
    auto b = server("api", "192.0.2.1:80");
    b.weight = 7;
    b.checks.front().rise = 5;  // counters stay per real server
    CHECK(key_of(a) == key_of(b));
    CHECK(probe_key_hash{}(key_of(a)) == probe_key_hash{}(key_of(b)));
}

TEST_CASE("any probe parameter that differs gives a different probe") {
    auto a = server("web", "192.0.2.1:80");
    auto b = a;
    b.checks.front().http.path = "/other";
    CHECK_FALSE(key_of(a) == key_of(b));
    b = a;
    b.checks.front().interval = 2s;
    CHECK_FALSE(key_of(a) == key_of(b));
    b = a;
    b.endpoint = ep("192.0.2.2:80");
    CHECK_FALSE(key_of(a) == key_of(b));
    b = a;
    b.checks.front().type = check_type::https;
    CHECK_FALSE(key_of(a) == key_of(b));
}

TEST_CASE("the URL list, the HTTP version, body_regex_absent and bind each split probes") {
    auto a = server("web", "192.0.2.1:80");
    a.checks.front().http.urls = {url_at("/a"), url_at("/b")};
    auto b = server("api", "192.0.2.1:80");
    b.checks.front().http.urls = a.checks.front().http.urls;
    CHECK(key_of(a) == key_of(b));
    CHECK(probe_key_hash{}(key_of(a)) == probe_key_hash{}(key_of(b)));
    b.checks.front().http.urls[1].status = status_set{{{503, 503}}};
    CHECK_FALSE(key_of(a) == key_of(b));
    b.checks.front().http.urls = {url_at("/b"), url_at("/a")};  // the order is part of it
    CHECK_FALSE(key_of(a) == key_of(b));
    b = a;
    b.checks.front().http.urls.pop_back();
    CHECK_FALSE(key_of(a) == key_of(b));
    b = a;
    b.checks.front().http.version = http_version::http_1_0;
    CHECK_FALSE(key_of(a) == key_of(b));
    b = a;
    b.checks.front().http.body_regex_absent = "down";
    CHECK_FALSE(key_of(a) == key_of(b));
    b = a;
    b.checks.front().bind = vigil::parse_address("192.0.2.100").value();
    CHECK_FALSE(key_of(a) == key_of(b));
    // A bind left on a type that does not use it splits nothing.
    a.checks.front().type = b.checks.front().type = check_type::udp;
    CHECK(key_of(a) == key_of(b));
}

TEST_CASE("the URLs of a check: its list, whose URLs without a host take the check's") {
    http_spec o;
    o.path = "/single";
    o.body_regex_absent = "x";
    auto one = urls_of(o);
    REQUIRE(one.size() == 1);
    CHECK(one[0].path == "/single");
    CHECK(one[0].body_regex_absent == "x");
    o.host = "www.example";
    o.urls = {url_at("/a"), url_at("/b")};
    o.urls[1].host = "api.example";
    auto list = urls_of(o);
    REQUIRE(list.size() == 2);
    CHECK(list[0].host == "www.example");
    CHECK(list[1].host == "api.example");
}

TEST_CASE("connect sends the probe elsewhere, and two servers probing one address share it") {
    auto a = server("web", "192.0.2.1:80");
    auto b = server("web", "192.0.2.2:80");
    a.checks.front().connect = ep("192.0.2.9:8080");
    b.checks.front().connect = ep("192.0.2.9:8080");
    CHECK(key_of(a).target == ep("192.0.2.9:8080"));
    CHECK(key_of(a) == key_of(b));
}

TEST_CASE("scripts are never shared between real servers: they are told which one they check") {
    auto a = server("web", "192.0.2.1:80");
    auto b = server("web", "192.0.2.2:80");
    a.checks.front().type = b.checks.front().type = check_type::script;
    a.checks.front().script.argv = b.checks.front().script.argv = {"/bin/true"};
    a.checks.front().connect = b.checks.front().connect = ep("192.0.2.9:80");
    CHECK_FALSE(key_of(a) == key_of(b));
}

TEST_CASE("options of another check type do not split identical probes") {
    auto a = server("web", "192.0.2.1:80");
    auto b = server("api", "192.0.2.1:80");
    b.checks.front().tcp.send = "leftover";
    CHECK(key_of(a) == key_of(b));
}

TEST_CASE("an http request without names goes straight to the address") {
    http_spec o;
    o.path = "/health";
    auto plan = plan_request(false, ep("192.0.2.1:8080"), o);
    CHECK(plan.url == "http://192.0.2.1:8080/health");
    CHECK(plan.connect_to.empty());
    CHECK(plan.host_header.empty());
}

TEST_CASE("https keeps the SNI name in the URL and connects to the address") {
    http_spec o;
    o.host = "www.example.com";
    o.sni = "secure.example.com";
    auto plan = plan_request(true, ep("[2001:db8::1]:443"), o);
    CHECK(plan.url == "https://secure.example.com:443/");
    CHECK(plan.connect_to == "secure.example.com:443:[2001:db8::1]:443");
    CHECK(plan.host_header == "Host: www.example.com");
}

TEST_CASE("a Host with a port names the URL by its host part") {
    http_spec o;
    o.host = "www.example.com:8080";
    auto plan = plan_request(false, ep("192.0.2.1:80"), o);
    CHECK(plan.url == "http://www.example.com:80/");
    CHECK(plan.host_header == "Host: www.example.com:8080");
}

TEST_CASE("curl failures are reported in an operator's words") {
    CHECK(describe_curl_failure(CURLE_OPERATION_TIMEDOUT, 0, "") == "timeout");
    CHECK(describe_curl_failure(CURLE_COULDNT_CONNECT, ECONNREFUSED, "") == "connection refused");
    CHECK(describe_curl_failure(CURLE_PEER_FAILED_VERIFICATION, 0,
                                "SSL certificate problem: certificate has expired") ==
          "TLS verification failed: SSL certificate problem: certificate has expired");
    CHECK(describe_curl_failure(CURLE_RECV_ERROR, ECONNRESET, "x") == "connection reset");
}

TEST_CASE("script exit 0 is success and 1 failure") {
    child_result r;
    r.how = child_result::outcome::exited;
    r.exit_code = 0;
    CHECK(judge_script(r, false).success);
    CHECK_FALSE(judge_script(r, false).weight);
    r.exit_code = 1;
    CHECK_FALSE(judge_script(r, true).success);
    CHECK(judge_script(r, true).reason == "script exit 1");
}

TEST_CASE("with dynamic weight exit 2-255 is success with weight exit-2") {
    child_result r;
    r.how = child_result::outcome::exited;
    r.exit_code = 2;
    CHECK(judge_script(r, true).success);
    CHECK(judge_script(r, true).weight == 0u);
    r.exit_code = 255;
    CHECK(judge_script(r, true).weight == 253u);
    // Without dynamic weight the same exit is a failure.
    CHECK_FALSE(judge_script(r, false).success);
    CHECK(judge_script(r, false).reason == "script exit 255");
}

TEST_CASE("a script that timed out or was killed fails") {
    child_result r;
    r.how = child_result::outcome::timed_out;
    CHECK(judge_script(r, false).reason == "timeout");
    r.how = child_result::outcome::signaled;
    r.signal = 9;
    CHECK(judge_script(r, false).reason == "script killed by signal 9");
    r.how = child_result::outcome::spawn_failed;
    r.error = "cannot execute /nope";
    CHECK(judge_script(r, false).reason == "script did not start: cannot execute /nope");
}

TEST_CASE("a tcp expect matches across reads and fails at eof or the limit") {
    CHECK(match_expect("+PO", "+PONG", false, 100) == expect_state::need_more);
    CHECK(match_expect("+PONG\r\n", "+PONG", false, 100) == expect_state::matched);
    CHECK(match_expect("-ERR", "+PONG", true, 100) == expect_state::mismatched);
    CHECK(match_expect(std::string(100, 'x'), "+PONG", false, 100) == expect_state::mismatched);
}
