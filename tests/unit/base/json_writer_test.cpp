#include "base/json_writer.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <limits>
#include <string>

using vigil::json_writer;

namespace {

// What boost::json makes of the text, written back: equal bytes mean the writer's escapes,
// number forms, separators and key order are boost::json's own.
std::string round_trip(const std::string& text) {
    return boost::json::serialize(boost::json::parse(text));
}

}  // namespace

TEST_CASE("json_writer writes what boost::json would serialize for the same document") {
    std::string text;
    json_writer w(text);
    w.begin_object();
    w.member("name", "VI_1");
    w.member("up", true);
    w.member("down", false);
    w.key("none");
    w.null();
    w.member("min", std::numeric_limits<std::int64_t>::min());
    w.member("max", std::numeric_limits<std::int64_t>::max());
    w.member("umax", std::numeric_limits<std::uint64_t>::max());
    w.member("zero", 0U);
    w.member("negative", -17);
    w.member("ratio", 0.5);
    w.member("age", 1234.5678);
    w.member("tiny", 1e-300);
    w.key("empty_array");
    w.begin_array();
    w.end_array();
    w.key("empty_object");
    w.begin_object();
    w.end_object();
    w.key("nested");
    w.begin_array();
    w.begin_object();
    w.member("a", 1);
    w.end_object();
    w.begin_array();
    w.value(2);
    w.value("three");
    w.end_array();
    w.null();
    w.end_array();
    w.end_object();
    CHECK(round_trip(text) == text);
    CHECK(text.starts_with(R"({"name":"VI_1","up":true,"down":false,"none":null,")"));
}

TEST_CASE("json_writer escapes every control character, quote and backslash as boost::json does") {
    std::string all;
    for (int c = 1; c < 0x80; ++c) {
        all += static_cast<char>(c);
    }
    all += "caf\xc3\xa9 \xe2\x82\xac";  // UTF-8 passes through
    std::string text;
    json_writer w(text);
    w.begin_object();
    w.member(all, all);  // keys are escaped like values
    w.end_object();
    CHECK(round_trip(text) == text);
    CHECK(boost::json::parse(text).as_object().begin()->value().as_string() == all);
    CHECK(text.find(R"(\u001f)") != std::string::npos);
    CHECK(text.find(R"(\"\\)") == std::string::npos);  // '"' then '\\' are not adjacent in `all`
    CHECK(text.find(R"(\\)") != std::string::npos);
    CHECK(text.find(R"(\n)") != std::string::npos);
}
