#include "checkers/response_check.hpp"

#include <doctest/doctest.h>

#include "checkers/body_digester.hpp"

using namespace vigil::checkers;

namespace {

http_spec with_limit(std::size_t limit) {
    http_spec o;
    o.body_limit = limit;
    return o;
}

}  // namespace

TEST_CASE("a status outside the expected set fails with the status as the reason") {
    http_spec o;
    response_check judge(o);
    judge.reset();
    CHECK(judge.verdict(200).success);
    auto r = judge.verdict(503);
    CHECK_FALSE(r.success);
    CHECK(r.reason == "status 503");
}

TEST_CASE("a body regex is searched anywhere in the body") {
    http_spec o;
    o.body_regex = "ready\\s+ok";
    response_check judge(o);
    judge.reset();
    judge.feed("status: ready ");
    judge.feed("  ok\n");
    CHECK(judge.verdict(200).success);
    judge.reset();
    judge.feed("status: starting");
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
    CHECK(r.reason == "body mismatch");
}

TEST_CASE("a digest is computed across chunks as keepalived's genhash does") {
    http_spec o;
    o.digest = digest_of(body_digest::algorithm::md5, "hello world\n");
    CHECK(to_string(*o.digest) == "md5:6f5902ac237024bdd0c176cb93063dc4");
    response_check judge(o);
    judge.reset();
    judge.feed("hello ");
    judge.feed("world\n");
    CHECK(judge.verdict(200).success);
    judge.reset();
    judge.feed("hello there\n");
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
    CHECK(r.reason.starts_with("body mismatch"));
}

TEST_CASE("sha256 digests are accepted") {
    auto d = digest_of(body_digest::algorithm::sha256, "");
    CHECK(to_string(d) ==
          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("the body read stops at the limit and the transfer is told to stop") {
    auto o = with_limit(10);
    o.body_regex = "abc";
    response_check judge(o);
    judge.reset();
    CHECK(judge.feed("12345"));
    CHECK_FALSE(judge.feed("6789abcdef"));  // crosses the limit
    CHECK(judge.truncated());
    CHECK(judge.body_bytes() == 10);
    // The regex sees only the first 10 bytes: "123456789a".
    CHECK_FALSE(judge.verdict(200).success);
}

TEST_CASE("a status-only check succeeds on a body longer than the limit") {
    response_check judge(with_limit(4));
    judge.reset();
    CHECK_FALSE(judge.feed("0123456789"));
    CHECK(judge.verdict(204).success);
}

TEST_CASE("a digest cannot match a body longer than the limit") {
    auto o = with_limit(4);
    o.digest = digest_of(body_digest::algorithm::md5, "0123");
    response_check judge(o);
    judge.reset();
    judge.feed("0123456789");
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
    CHECK(r.reason.find("longer than 4 bytes") != std::string::npos);
}

TEST_CASE("a regex that does not compile fails every verdict instead of throwing") {
    http_spec o;
    o.body_regex = "(unclosed";
    response_check judge(o);
    judge.reset();
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
    CHECK(r.reason.starts_with("body_regex does not compile"));
}

TEST_CASE("a pathological regex fails the check instead of hanging or throwing") {
    http_spec o;
    o.body_regex = "(a+)+b";
    response_check judge(o);
    judge.reset();
    judge.feed(std::string(5000, 'a'));
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
}

TEST_CASE("body_regex_absent fails the check when it matches the body, anywhere") {
    http_spec o;
    o.body_regex_absent = "maintenance|degraded";
    response_check judge(o);
    judge.reset();
    judge.feed("state: ready\n");
    CHECK(judge.verdict(200).success);
    judge.reset();
    judge.feed("state: degr");
    judge.feed("aded\n");
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
    CHECK(r.reason == "body mismatch: body_regex_absent matches");
}

TEST_CASE("body_regex and body_regex_absent together: one must match and the other not") {
    http_spec o;
    o.body_regex = "^ok";
    o.body_regex_absent = "draining";
    response_check judge(o);
    judge.reset();
    judge.feed("ok\n");
    CHECK(judge.verdict(200).success);
    judge.reset();
    judge.feed("ok, draining\n");
    CHECK(judge.verdict(200).reason == "body mismatch: body_regex_absent matches");
    judge.reset();
    judge.feed("starting\n");
    CHECK(judge.verdict(200).reason == "body mismatch");
}

TEST_CASE("body_regex_absent sees only the first body_limit bytes, as body_regex does") {
    auto o = with_limit(8);
    o.body_regex_absent = "down";
    response_check judge(o);
    judge.reset();
    CHECK_FALSE(judge.feed("12345678 down"));
    CHECK(judge.verdict(200).success);
}

TEST_CASE("a body_regex_absent that does not compile fails every verdict, never passes") {
    http_spec o;
    o.body_regex_absent = "(unclosed";
    response_check judge(o);
    judge.reset();
    judge.feed("anything");
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
    CHECK(r.reason.starts_with("body_regex_absent does not compile"));
}

TEST_CASE("a body_regex_absent too complex to decide fails rather than passes") {
    http_spec o;
    o.body_regex_absent = "(a+)+b";
    response_check judge(o);
    judge.reset();
    judge.feed(std::string(5000, 'a'));
    auto r = judge.verdict(200);
    CHECK_FALSE(r.success);
    CHECK(r.reason == "body mismatch: body_regex_absent too complex for this body");
}

TEST_CASE("one URL of a list is judged by its own status, regex and digest") {
    http_url url;
    url.path = "/b";
    url.status = status_set{{{204, 204}}};
    url.body_regex_absent = "x";
    response_check judge(url, 1024);
    judge.reset();
    CHECK(judge.verdict(204).success);
    CHECK(judge.verdict(200).reason == "status 200");
    judge.reset();
    judge.feed("x");
    CHECK_FALSE(judge.verdict(204).success);
}
