#include "base/duration.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace std::chrono_literals;

TEST_CASE("durations take a number and a unit") {
    CHECK(*parse_duration("250ms") == 250ms);
    CHECK(*parse_duration("1.5s") == 1500ms);
    CHECK(*parse_duration("2m") == 120s);
    CHECK(*parse_duration("1h") == 3600s);
    CHECK(*parse_duration("0s") == 0ms);
    CHECK(*parse_duration("0.01s") == 10ms);
    CHECK(*parse_duration("1.250s") == 1250ms);
}

TEST_CASE("durations without a unit or with sub-millisecond precision are refused") {
    CHECK(parse_duration("5").error().find("no unit") != std::string::npos);
    CHECK(parse_duration("5 s").error().find("unknown unit") != std::string::npos);
    CHECK(parse_duration("5sec").error().find("unknown unit") != std::string::npos);
    CHECK(parse_duration("1.5ms").error().find("precision") != std::string::npos);
    CHECK(parse_duration("0.0001s").error().find("precision") != std::string::npos);
    CHECK_FALSE(parse_duration("-1s"));
    CHECK_FALSE(parse_duration(".5s"));
    CHECK_FALSE(parse_duration("1.s"));
    CHECK_FALSE(parse_duration(""));
    CHECK(parse_duration("99999999999999999999h").error().find("too long") != std::string::npos);
}

TEST_CASE("durations format in their shortest exact unit") {
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(1500ms) == "1.5s");
    CHECK(format_duration(1010ms) == "1.01s");
    CHECK(format_duration(5s) == "5s");
    CHECK(format_duration(120s) == "2m");
    CHECK(format_duration(7200s) == "2h");
    CHECK(format_duration(0ms) == "0ms");
    for (auto text : {"10ms", "1.5s", "40.95s", "3m", "25h"}) {
        CHECK(format_duration(*parse_duration(text)) == text);
    }
}
