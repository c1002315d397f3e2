// Runs every config in tests/config/bad/. Each carries, written by hand in its comments, the rule
// it breaks ("# rule: NAME") and every diagnostic it must produce ("# expect: LINE:COL: error: ..."
// for the file itself, "# expect: OTHER.toml:LINE:COL: error: ..." for a file it includes; "{dir}"
// stands for the folder). Every rule must have at least one such file.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "config/loader.hpp"

using namespace vigil::config;
namespace fs = std::filesystem;

namespace {

struct expectation {
    std::string rule_name;
    std::vector<std::string> diagnostics;
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

expectation read_expectation(const fs::path& file) {
    expectation out;
    std::ifstream in(file);
    std::string line;
    const std::string dir = file.parent_path().string();
    // "OTHER.toml:3:1: error:" names another file; "3:1: error:" is this one.
    const std::regex other_file(R"(^(\S+\.toml):\d+:\d+: error: )");
    while (std::getline(in, line)) {
        if (line.rfind("# rule: ", 0) == 0) {
            out.rule_name = line.substr(8);
        } else if (line.rfind("# expect: ", 0) == 0) {
            auto expected = replace_all(line.substr(10), "{dir}", dir);
            if (std::regex_search(expected, other_file)) {
                out.diagnostics.push_back(dir + "/" + expected);
            } else {
                out.diagnostics.push_back(file.string() + ":" + expected);
            }
        }
    }
    return out;
}

}  // namespace

TEST_CASE("every bad config is refused with exactly the diagnostics written in it") {
    fs::path folder = fs::path(VIGIL_SOURCE_DIR) / "tests/config/bad";
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder)) {
        if (entry.is_regular_file() && entry.path().extension() == ".toml") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= all_rules().size());

    std::set<std::string> covered;
    for (const auto& file : files) {
        CAPTURE(file.string());
        auto expected = read_expectation(file);
        REQUIRE_MESSAGE(!expected.rule_name.empty(), "no '# rule:' line");
        REQUIRE_MESSAGE(!expected.diagnostics.empty(), "no '# expect:' line");
        auto result = load_configuration(file.string());
        CHECK_FALSE(result.config);
        std::vector<std::string> actual;
        for (const auto& d : result.diagnostics) {
            actual.push_back(to_string(d));
            CHECK_MESSAGE(to_string(d.kind) == expected.rule_name,
                          "diagnostic of rule " << to_string(d.kind) << ": " << to_string(d));
        }
        CHECK(actual == expected.diagnostics);
        covered.insert(expected.rule_name);
    }
    for (auto r : all_rules()) {
        CHECK_MESSAGE(covered.contains(std::string(to_string(r))),
                      "no bad config breaks rule " << to_string(r));
    }
}
