#include "checkers/http_expectation.hpp"

#include <doctest/doctest.h>

using namespace vigil::checkers;

TEST_CASE("status sets hold codes and inclusive ranges") {
    status_set set({*parse_status_range("200-299"), *parse_status_range("302")});
    CHECK(set.contains(200));
    CHECK(set.contains(299));
    CHECK(set.contains(302));
    CHECK_FALSE(set.contains(301));
    CHECK_FALSE(set.contains(503));
    CHECK(set.to_string() == "200-299,302");
    CHECK(status_set::default_success().contains(204));
    CHECK_FALSE(status_set::default_success().contains(301));
}

TEST_CASE("status ranges outside 100-599 or reversed are refused") {
    CHECK_FALSE(parse_status_range("99"));
    CHECK_FALSE(parse_status_range("600"));
    CHECK_FALSE(parse_status_range("2xx"));
    CHECK_FALSE(parse_status_range("200-"));
    CHECK(parse_status_range("299-200").error().find("empty range") != std::string::npos);
}

TEST_CASE("body digests are md5 or sha256 in hex") {
    auto md5 = parse_body_digest("md5:d41d8cd98f00b204e9800998ecf8427e");
    REQUIRE(md5);
    CHECK(md5->bytes.size() == 16);
    CHECK(to_string(*md5) == "md5:d41d8cd98f00b204e9800998ecf8427e");
    auto sha = parse_body_digest(
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
    REQUIRE(sha);
    CHECK(to_string(*sha) ==
          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(parse_body_digest("md5:abc").error().find("32 hex digits") != std::string::npos);
    CHECK(parse_body_digest("sha1:abc").error().find("not a digest") != std::string::npos);
    CHECK(parse_body_digest("md5:g41d8cd98f00b204e9800998ecf8427e").error().find("hex") !=
          std::string::npos);
}
