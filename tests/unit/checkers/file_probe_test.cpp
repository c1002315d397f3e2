#include "checkers/file_probe.hpp"

#include <doctest/doctest.h>

using namespace vigil::checkers;

TEST_CASE("a state file reads up, down or weight N, case and white space aside") {
    CHECK(parse_file_state("up").success);
    CHECK(parse_file_state("  UP\n").success);
    CHECK_FALSE(parse_file_state("up").weight);
    auto down = parse_file_state("down\n");
    CHECK_FALSE(down.success);
    CHECK(down.reason == "state file says down");
    auto weighted = parse_file_state("weight 7\n");
    CHECK(weighted.success);
    CHECK(weighted.weight == 7u);
    CHECK(parse_file_state("Weight\t0").weight == 0u);
}

TEST_CASE("anything else in a state file fails with what it says") {
    CHECK(parse_file_state("").reason == "state file says \"\", not up, down or weight N");
    CHECK(parse_file_state("weight").reason ==
          "state file says \"weight\", not up, down or weight N");
    CHECK_FALSE(parse_file_state("weight -1").success);
    CHECK_FALSE(parse_file_state("weight 65536").success);
    CHECK_FALSE(parse_file_state("weight 5x").success);
    CHECK_FALSE(parse_file_state("upp").success);
    CHECK(parse_file_state(std::string("u\x01p", 3)).reason ==
          "state file says \"u?p\", not up, down or weight N");
}
