#include "base/event_log.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <cmath>

using namespace vigil;

TEST_CASE("a JSON record carries ts, level, event and every field") {
    auto sink = std::make_unique<memory_sink>();
    auto* lines = sink.get();
    event_log log(std::move(sink));
    log.info("config.loaded", {{"file", "/etc/vigil/vigil.toml"},
                               {"instances", 2},
                               {"big", std::uint64_t{1} << 40},
                               {"ratio", 0.5},
                               {"ok", true},
                               {"errors", field_value::list{"a", "b"}}});
    REQUIRE(lines->lines().size() == 1);
    auto record = boost::json::parse(lines->lines().front()).as_object();
    CHECK(record.at("event").as_string() == "config.loaded");
    CHECK(record.at("level").as_string() == "info");
    CHECK(record.at("ts").as_string().size() == 24);  // 2026-11-21T09:47:41.123Z
    CHECK(record.at("file").as_string() == "/etc/vigil/vigil.toml");
    CHECK(record.at("instances").as_int64() == 2);
    CHECK(record.at("big").to_number<std::uint64_t>() == (std::uint64_t{1} << 40));
    CHECK(record.at("ratio").as_double() == 0.5);
    CHECK(record.at("ok").as_bool());
    CHECK(record.at("errors").as_array().size() == 2);
}

TEST_CASE("a field never overwrites the record's own ts, level or event") {
    std::array fields{log_field{"event", "other"}};
    auto record = boost::json::parse(format_json(log_record{{}, log_level::info, "x.y", fields}));
    CHECK(record.at("event").as_string() == "x.y");
    CHECK(record.at("field_event").as_string() == "other");
}

TEST_CASE("records below the threshold are dropped") {
    auto sink = std::make_unique<memory_sink>();
    auto* lines = sink.get();
    event_log log(std::move(sink), log_level::warning);
    log.info("quiet");
    log.debug("quieter");
    log.warning("loud");
    log.error("louder");
    CHECK(lines->lines().size() == 2);
    log.set_threshold(log_level::debug);
    log.debug("now heard");
    CHECK(lines->lines().size() == 3);
}

TEST_CASE("text records quote values that contain spaces") {
    std::array fields{log_field{"file", "a b"}, log_field{"n", 3}, log_field{"plain", "x"}};
    auto text = format_text(log_record{{}, log_level::warning, "config.rejected", fields});
    CHECK(text.find("warning config.rejected file=\"a b\" n=3 plain=x") != std::string::npos);
}

TEST_CASE("text records write numbers as a person would read them") {
    std::array fields{log_field{"apply_ms", 6.168}, log_field{"whole", 2.0},
                      log_field{"big", std::uint64_t{18446744073709551615u}},
                      log_field{"negative", -4}};
    auto text = format_text(log_record{{}, log_level::info, "ipvs.synced", fields});
    CHECK(text.find("apply_ms=6.168 whole=2 big=18446744073709551615 negative=-4") !=
          std::string::npos);
}

TEST_CASE("log levels parse from their names only") {
    CHECK(*parse_log_level("debug") == log_level::debug);
    CHECK(*parse_log_level("error") == log_level::error);
    CHECK_FALSE(parse_log_level("WARN"));
}

TEST_CASE("JSON records write numbers as a person would read them") {
    std::array fields{log_field{"apply_ms", 6.168}, log_field{"whole", 2.0},
                      log_field{"tiny", 1e-7}, log_field{"nan", std::nan("")},
                      log_field{"big", std::uint64_t{18446744073709551615u}}};
    auto line = format_json(log_record{{}, log_level::info, "ipvs.synced", fields});
    CHECK(line.find(R"("apply_ms":6.168,"whole":2,"tiny":1e-07,"nan":null,)") != std::string::npos);
    CHECK(line.find("E0") == std::string::npos);
    auto record = boost::json::parse(line).as_object();
    CHECK(record.at("apply_ms").to_number<double>() == 6.168);
    CHECK(record.at("big").to_number<std::uint64_t>() == 18446744073709551615u);
}
