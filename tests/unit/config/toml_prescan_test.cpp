#include "config/toml_prescan.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace vigil::config;

namespace {

std::string dotted(std::size_t parts) {
    std::string key = "a";
    for (std::size_t i = 1; i < parts; ++i) {
        key += ".a";
    }
    return key;
}

}  // namespace

TEST_CASE("a key of 32 parts passes, one of 33 is refused at its 33rd part") {
    CHECK_FALSE(prescan_toml(dotted(32) + " = 1\n"));
    auto problem = prescan_toml("x = 1\n" + dotted(33) + " = 1\n");
    REQUIRE(problem);
    CHECK(problem->line == 2);
    CHECK(problem->column == 64);
    CHECK(problem->message == "a key of more than 32 dotted parts");
}

TEST_CASE("quoted parts and spaces around dots count as parts of one key") {
    std::string key = "\"a\"";
    for (int i = 1; i < 33; ++i) {
        key += i % 2 ? " . 'b'" : ".c";
    }
    CHECK(prescan_toml(key + " = 1"));
}

TEST_CASE("dots in values, strings and comments are not key parts") {
    std::string many_dots(100, '.');
    CHECK_FALSE(prescan_toml("a = \"" + many_dots + "\"\n"));
    CHECK_FALSE(prescan_toml("a = '" + many_dots + "'\n"));
    CHECK_FALSE(prescan_toml("a = \"\"\"\n" + many_dots + "\n\"\"\"\n"));
    CHECK_FALSE(prescan_toml("# " + many_dots + "\n"));
    std::string floats = "a = [";
    for (int i = 0; i < 100; ++i) {
        floats += "1.5, ";
    }
    CHECK_FALSE(prescan_toml(floats + "]\n"));
    CHECK_FALSE(prescan_toml("a = 1979-05-27T07:32:00.999999Z\n"));
}

TEST_CASE("nesting of 32 passes, 33 is refused at the bracket that goes too deep") {
    CHECK_FALSE(prescan_toml("a = " + std::string(32, '[') + std::string(32, ']')));
    CHECK_FALSE(prescan_toml("a = " + std::string(32, '{') + std::string(32, '}')));
    auto problem = prescan_toml("a = " + std::string(16, '[') + std::string(17, '{'));
    REQUIRE(problem);
    CHECK(problem->column == 37);
    CHECK(problem->message == "tables and arrays nested more than 32 deep");
    // Brackets that close bring the depth back down.
    std::string many;
    for (int i = 0; i < 100; ++i) {
        many += "a" + std::to_string(i) + " = [[1], [2]]\n";
    }
    CHECK_FALSE(prescan_toml(many));
}

TEST_CASE("brackets and quotes inside strings do not count") {
    CHECK_FALSE(prescan_toml("a = \"" + std::string(100, '[') + "\"\n"));
    CHECK_FALSE(prescan_toml("a = \"\\\"" + std::string(100, '[') + "\"\n"));
    CHECK_FALSE(prescan_toml("a = '''" + std::string(100, '{') + "'''\n"));
    // A multi-line string may end in one or two quotes of its own before the closing three.
    CHECK_FALSE(prescan_toml("a = \"\"\"x\"\"\"\"\" # é\nb = 1\n"));
    CHECK_FALSE(prescan_toml("a = '''x''''' # é\nb = 1\n"));
}

TEST_CASE("every character U+00A1 to U+0499 after a value is refused with its position") {
    for (char32_t code = 0xA1; code <= 0x499; ++code) {
        std::string text = "a = 1 ";
        text += static_cast<char>(0xC0 | (code >> 6));
        text += static_cast<char>(0x80 | (code & 0x3F));
        text += "\nb = 2\n";
        auto problem = prescan_toml(text);
        REQUIRE(problem);
        CHECK(problem->line == 1);
        CHECK(problem->column == 7);
    }
    auto problem = prescan_toml("a = 1 \xC3\xA9");
    REQUIRE(problem);
    CHECK(problem->message ==
          "character U+00E9 outside a string or comment (TOML allows only ASCII in keys and "
          "between values)");
    problem = prescan_toml("a = 1 \xFF");
    REQUIRE(problem);
    CHECK(problem->message.starts_with("byte 0xFF outside"));
}

TEST_CASE("non-ASCII text in strings and comments, and a byte order mark, pass") {
    CHECK_FALSE(
        prescan_toml("\xEF\xBB\xBF"
                     "a = \"é\" # é\nb = 'ü'\nc = \"\"\"中\"\"\"\n"));
    // Columns count characters, as toml++ does, not bytes.
    auto problem = prescan_toml("a = \"ééé\" \xC3\xA9");
    REQUIRE(problem);
    CHECK(problem->column == 11);
}
