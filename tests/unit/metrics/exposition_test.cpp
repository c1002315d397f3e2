#include "metrics/exposition.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>

using namespace vigil::metrics;

TEST_CASE("label values escape backslash, double quote and line feed, nothing else") {
    std::string out;
    append_label_value(out, "a\\b\"c\nd\te/f");
    CHECK(out == "a\\\\b\\\"c\\nd\te/f");
}

TEST_CASE("help text escapes backslash and line feed but keeps double quotes") {
    std::string out;
    append_help_text(out, "say \"hi\"\\\nbye");
    CHECK(out == "say \"hi\"\\\\\\nbye");
}

TEST_CASE("a label set renders its labels once, comma separated and escaped") {
    label_set labels;
    labels.add("virtual_server", "web").add("real_server", "we\"b/10.0.0.1:80");
    CHECK(labels.text() == "virtual_server=\"web\",real_server=\"we\\\"b/10.0.0.1:80\"");
    CHECK(label_set().empty());
}

TEST_CASE("a family starts with its HELP and TYPE lines") {
    exposition out;
    out.family("vigil_x_total", metric_type::counter, "Things.\nMore");
    out.sample("vigil_x_total", {}, std::uint64_t{3});
    CHECK(out.text() ==
          "# HELP vigil_x_total Things.\\nMore\n# TYPE vigil_x_total counter\nvigil_x_total 3\n");
}

TEST_CASE("samples carry their labels and an extra label in braces") {
    exposition out;
    out.sample("m", "a=\"1\"", 0.25, "b=\"2\"");
    out.sample("m", {}, 1.0, "b=\"3\"");
    out.sample("m", "a=\"1\"", std::uint64_t{18446744073709551615ULL});
    CHECK(out.text() == "m{a=\"1\",b=\"2\"} 0.25\nm{b=\"3\"} 1\nm{a=\"1\"} 18446744073709551615\n");
}

TEST_CASE("special float values are written as the format spells them") {
    exposition out;
    out.sample("m", {}, std::numeric_limits<double>::quiet_NaN());
    out.sample("m", {}, std::numeric_limits<double>::infinity());
    out.sample("m", {}, -std::numeric_limits<double>::infinity());
    out.sample("m", {}, 1700000000.0);
    out.sample("m", {}, -2.0);
    CHECK(out.text() == "m NaN\nm +Inf\nm -Inf\nm 1700000000\nm -2\n");
}

TEST_CASE("histogram buckets are cumulative and end with +Inf, sum and count") {
    exposition out;
    std::array<double, 3> values{0.005, 0.1, 1};
    bucket_bounds bounds(values);
    std::array<std::uint64_t, 3> counts{2, 0, 3};
    out.histogram("h_seconds", "rs=\"a\"", bounds, counts, 6, 2.5);
    CHECK(out.text() ==
          "h_seconds_bucket{rs=\"a\",le=\"0.005\"} 2\n"
          "h_seconds_bucket{rs=\"a\",le=\"0.1\"} 2\n"
          "h_seconds_bucket{rs=\"a\",le=\"1\"} 5\n"
          "h_seconds_bucket{rs=\"a\",le=\"+Inf\"} 6\n"
          "h_seconds_sum{rs=\"a\"} 2.5\n"
          "h_seconds_count{rs=\"a\"} 6\n");
}

TEST_CASE("a histogram without labels has only its le label") {
    exposition out;
    std::array<double, 1> values{0.5};
    bucket_bounds bounds(values);
    std::array<std::uint64_t, 1> counts{1};
    out.histogram("h", {}, bounds, counts, 1, 0.1);
    CHECK(out.text() == "h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.1\nh_count 1\n");
}
