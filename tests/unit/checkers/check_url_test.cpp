#include "checkers/check_url.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace vigil::checkers;

TEST_CASE("check URLs: target, default ports and each type's options") {
    auto smtp = parse_check_url("smtp://192.0.2.25?helo=lb1.example.org");
    REQUIRE(smtp);
    CHECK(smtp->type == check_type::smtp);
    CHECK(to_string(smtp->target) == "192.0.2.25:25");
    CHECK(smtp->check.smtp.helo_name == "lb1.example.org");
    CHECK_FALSE(smtp->check.smtp.starttls);
    // STARTTLS as a bare flag or true, with sni in any order; verified unless told otherwise.
    for (const char* url : {"smtp://192.0.2.25:587?sni=mx.example.org&starttls",
                            "smtp://192.0.2.25:587?starttls=true&sni=mx.example.org"}) {
        auto tls = parse_check_url(url);
        REQUIRE(tls);
        CHECK(tls->check.smtp.starttls);
        CHECK(tls->check.smtp.sni == "mx.example.org");
        CHECK(tls->check.smtp.tls_verify);
        CHECK(to_string(tls->target) == "192.0.2.25:587");
    }
    CHECK_FALSE(parse_check_url("smtp://192.0.2.25?starttls=false")->check.smtp.starttls);

    auto dns =
        parse_check_url("dns://[2001:db8::53]/Example.ORG?type=mx&answer=10%20mail.example.org");
    REQUIRE(dns);
    CHECK(to_string(dns->target) == "[2001:db8::53]:53");
    CHECK(dns->check.dns.name == "example.org");
    CHECK(dns->check.dns.type == dns_record_type::mx);
    CHECK(dns->check.dns.answer == "10 mail.example.org");

    auto grpc = parse_check_url("grpcs://[::1]:50051/pkg.Svc?sni=grpc.test");
    REQUIRE(grpc);
    CHECK(grpc->check.grpc.tls);
    CHECK(grpc->check.grpc.service == "pkg.Svc");
    CHECK(grpc->check.grpc.sni == "grpc.test");
    CHECK(parse_check_url("grpc://127.0.0.1:50051")->check.grpc.service.empty());

    auto udp = parse_check_url("udp://127.0.0.1:514?send_hex=0a0b&expect=ok");
    REQUIRE(udp);
    CHECK(udp->check.udp.send == "\x0a\x0b");
    CHECK(udp->check.udp.expect == "ok");

    auto icmp = parse_check_url("icmp://::1");
    REQUIRE(icmp);
    CHECK(icmp->target.address.is_v6());
}

TEST_CASE("check URLs: names, missing ports, paths and foreign options are refused") {
    CHECK(parse_check_url("smtp://mail.example.org").error().rfind("has address", 0) == 0);
    CHECK(parse_check_url("tcp://127.0.0.1").error() == "names no port");
    CHECK(parse_check_url("ftp://127.0.0.1:21").error().rfind("has scheme \"ftp\"", 0) == 0);
    CHECK(parse_check_url("tcp://127.0.0.1:80/x").error() ==
          "has a path, which tcp checks do not use");
    CHECK(parse_check_url("smtp://127.0.0.1?sni=x").error() ==
          "has \"sni\", which smtp checks take only with starttls");
    CHECK(parse_check_url("smtp://127.0.0.1?starttls=false&sni=x").error() ==
          "has \"sni\", which smtp checks take only with starttls");
    CHECK(parse_check_url("smtp://127.0.0.1?starttls=yes").error() ==
          "starttls \"yes\" is not true or false");
    CHECK(parse_check_url("tcp://127.0.0.1:25?starttls").error() ==
          "has \"starttls\", which tcp checks do not take");
    CHECK(parse_check_url("grpc://127.0.0.1:1?sni=x").error() ==
          "has \"sni\", which grpc checks do not take");
    CHECK(parse_check_url("dns://127.0.0.1/a..b").error().rfind("asks for", 0) == 0);
    CHECK(parse_check_url("smtp://127.0.0.1?helo=%zz").error() == "has a broken %-escape in helo");
    CHECK(parse_check_url("no-scheme").error() == "is not a URL (scheme://address...)");
}
