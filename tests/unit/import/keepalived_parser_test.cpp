#include "import/keepalived_parser.hpp"

#include <doctest/doctest.h>

#include "memory_include_resolver.hpp"

using namespace vigil::import;
using vigil::import::test::memory_include_resolver;

namespace {

parse_result parse(std::string_view text, parse_options options = {}) {
    memory_include_resolver none;
    return parse_keepalived(text, "/etc/keepalived/keepalived.conf", none, options);
}

std::vector<std::string> warnings(const parse_result& r) {
    std::vector<std::string> out;
    for (const auto& w : r.warnings) {
        out.push_back(to_string(w));
    }
    return out;
}

}  // namespace

TEST_CASE("comments with ! and # are dropped, at the line's start or after a value") {
    auto r = parse(
        "! Configuration File for keepalived\n"
        "# another comment\n"
        "global_defs {   ! trailing\n"
        "   router_id LVS_DEVEL # trailing too\n"
        "}\n");
    REQUIRE_FALSE(r.error);
    CHECK(r.warnings.empty());
    REQUIRE(r.statements.size() == 1);
    const auto& g = r.statements[0];
    CHECK(g.keyword == "global_defs");
    CHECK(g.has_block);
    REQUIRE(g.block.size() == 1);
    CHECK(g.block[0].keyword == "router_id");
    CHECK(g.block[0].arguments == std::vector<std::string>{"LVS_DEVEL"});
    CHECK(g.block[0].where.line == 4);
    CHECK(g.block[0].where.file == "/etc/keepalived/keepalived.conf");
}

TEST_CASE("a brace on the next line opens the block of the statement before it") {
    auto r = parse("vrrp_instance VI_1\n{\n  priority 100\n}\nvrrp_instance VI_2 {\n}\n");
    REQUIRE_FALSE(r.error);
    REQUIRE(r.statements.size() == 2);
    CHECK(r.statements[0].arguments == std::vector<std::string>{"VI_1"});
    CHECK(r.statements[0].has_block);
    REQUIRE(r.statements[0].block.size() == 1);
    CHECK(r.statements[0].block[0].keyword == "priority");
    CHECK(r.statements[1].has_block);
    CHECK(r.statements[1].block.empty());
}

TEST_CASE("one-line blocks: statements between braces on one line") {
    auto r = parse(
        "virtual_server 10.0.0.1 80 {\n"
        "  real_server 10.0.1.1 80 { weight 1 }\n"
        "  real_server 10.0.1.2 80 { weight 2 } real_server 10.0.1.3 80 { weight 3 }\n"
        "  track_interface { eth0 }\n"
        "}\n");
    REQUIRE_FALSE(r.error);
    REQUIRE(r.statements.size() == 1);
    const auto& vs = r.statements[0].block;
    REQUIRE(vs.size() == 4);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(vs[i].keyword == "real_server");
        REQUIRE(vs[i].block.size() == 1);
        CHECK(vs[i].block[0].keyword == "weight");
        CHECK(vs[i].block[0].arguments == std::vector<std::string>{std::to_string(i + 1)});
    }
    CHECK(vs[2].where.line == 3);
    CHECK(vs[3].block[0].keyword == "eth0");
}

TEST_CASE("quoted strings are one argument and keep blanks, ! and #") {
    auto r = parse(
        "vrrp_script chk {\n"
        "  script \"/usr/bin/check --port 80 # not a comment !\"\n"
        "}\n"
        "notify_master \"/bin/x a\" root\n");
    REQUIRE_FALSE(r.error);
    REQUIRE(r.statements.size() == 2);
    CHECK(r.statements[0].block[0].arguments ==
          std::vector<std::string>{"/usr/bin/check --port 80 # not a comment !"});
    CHECK(r.statements[1].arguments == std::vector<std::string>{"/bin/x a", "root"});
}

TEST_CASE("multi-value lines and list blocks keep every word") {
    auto r = parse(
        "virtual_ipaddress {\n"
        "  192.168.200.17/24 dev eth1\n"
        "  192.168.200.18/24 dev eth2 label eth2:1\n"
        "}\n"
        "status_code 200 201-299 404\n");
    REQUIRE_FALSE(r.error);
    REQUIRE(r.statements[0].block.size() == 2);
    CHECK(r.statements[0].block[1].keyword == "192.168.200.18/24");
    CHECK(r.statements[0].block[1].arguments ==
          std::vector<std::string>{"dev", "eth2", "label", "eth2:1"});
    CHECK(r.statements[1].arguments == std::vector<std::string>{"200", "201-299", "404"});
}

TEST_CASE("a backslash at the end of a line continues it") {
    auto r = parse("real_server 10.0.0.1 \\\n    80 {\n weight 1 }\n");
    REQUIRE_FALSE(r.error);
    REQUIRE(r.statements.size() == 1);
    CHECK(r.statements[0].arguments == std::vector<std::string>{"10.0.0.1", "80"});
    CHECK(r.statements[0].where.line == 1);
    CHECK(r.statements[0].block[0].where.line == 3);
}

TEST_CASE("include splices the included files where the include stands, globs in order") {
    memory_include_resolver files;
    files.files["/etc/keepalived/conf.d/b.conf"] = "vrrp_instance B {\n}\n";
    files.files["/etc/keepalived/conf.d/a.conf"] =
        "vrrp_instance A {\n  include ../inner.conf\n}\n";
    files.files["/etc/keepalived/inner.conf"] = "priority 42\n";
    auto r = parse_keepalived("global_defs {\n}\ninclude conf.d/*\nvrrp_instance C {\n}\n",
                              "/etc/keepalived/keepalived.conf", files);
    REQUIRE_FALSE(r.error);
    CHECK(r.warnings.empty());
    REQUIRE(r.statements.size() == 4);
    CHECK(r.statements[1].arguments[0] == "A");
    CHECK(r.statements[1].where.file == "/etc/keepalived/conf.d/a.conf");
    REQUIRE(r.statements[1].block.size() == 1);
    CHECK(r.statements[1].block[0].keyword == "priority");
    CHECK(r.statements[1].block[0].where.file == "/etc/keepalived/inner.conf");
    CHECK(r.statements[1].block[0].where.line == 1);
    CHECK(r.statements[2].arguments[0] == "B");
    CHECK(r.statements[3].arguments[0] == "C");
    CHECK(r.statements[3].where.file == "/etc/keepalived/keepalived.conf");
    CHECK(r.statements[3].where.line == 4);
}

TEST_CASE("include cycles and missing files are warnings, not loops or failures") {
    memory_include_resolver files;
    files.files["/k/a.conf"] = "include b.conf\nglobal_defs {\n}\n";
    files.files["/k/b.conf"] = "include a.conf\n";
    auto r = parse_keepalived("include a.conf\ninclude nothing.conf\n", "/k/main.conf", files);
    REQUIRE_FALSE(r.error);
    REQUIRE(r.statements.size() == 1);
    CHECK(warnings(r) ==
          std::vector<std::string>{
              "/k/b.conf:1: warning: include cycle: '/k/a.conf' is already being read: skipped",
              "/k/main.conf:2: warning: include 'nothing.conf': matches no file"});
}

TEST_CASE("include depth is bounded") {
    memory_include_resolver files;
    // Each file includes the next; without a bound this would recurse 100 files deep.
    for (int i = 0; i < 100; ++i) {
        files.files["/k/" + std::to_string(i)] = "include " + std::to_string(i + 1) + "\n";
    }
    parse_options options;
    options.max_include_depth = 8;
    auto r = parse_keepalived("include 0\n", "/k/main.conf", files, options);
    REQUIRE_FALSE(r.error);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].message.find("nested deeper than 8 files") != std::string::npos);
}

TEST_CASE("an unclosed block is an error located at its opening brace") {
    auto r = parse("global_defs {\n}\nvrrp_instance VI_1 {\n  priority 100\n");
    REQUIRE(r.error);
    CHECK(to_string(*r.error) ==
          "/etc/keepalived/keepalived.conf:3: error: block opened here is never closed");
    CHECK(r.statements.empty());
}

TEST_CASE("an unclosed quote is an error on its line") {
    auto r = parse("global_defs {\n  router_id \"lb1\n}\n");
    REQUIRE(r.error);
    CHECK(r.error->where.line == 2);
    CHECK(r.error->message == "quoted string is not closed");
}

TEST_CASE("a stray closing brace is a warning") {
    auto r = parse("global_defs {\n}\n}\nvrrp_instance X {\n}\n");
    REQUIRE_FALSE(r.error);
    CHECK(r.statements.size() == 2);
    CHECK(warnings(r) == std::vector<std::string>{"/etc/keepalived/keepalived.conf:3: warning: "
                                                  "'}' closes no block: ignored"});
}

TEST_CASE("blocks nested too deep are an error, not a stack overflow") {
    std::string deep;
    for (int i = 0; i < 10000; ++i) {
        deep += "a {\n";
    }
    auto r = parse(deep);
    REQUIRE(r.error);
    CHECK(r.error->message == "blocks nested deeper than 64");
}

TEST_CASE("@ID lines are kept only for that configuration id") {
    std::string text = "@high priority 170\n@low priority 85\n@^high weight 1\n";
    parse_options high;
    high.config_id = "high";
    auto r = parse(text, high);
    REQUIRE(r.statements.size() == 1);
    CHECK(r.statements[0].arguments == std::vector<std::string>{"170"});
    CHECK(r.warnings.empty());
    auto none = parse(text);
    REQUIRE(none.statements.size() == 1);
    CHECK(none.statements[0].keyword == "weight");
    CHECK(none.warnings.size() == 2);
}

TEST_CASE("split_command splits as keepalived does before running a script") {
    CHECK(split_command("/usr/local/bin/vrrp.sh  BACKUP   VI_1") ==
          std::vector<std::string>{"/usr/local/bin/vrrp.sh", "BACKUP", "VI_1"});
    CHECK(split_command("/bin/sh -c 'echo a b' \"x y\" c\\ d") ==
          std::vector<std::string>{"/bin/sh", "-c", "echo a b", "x y", "c d"});
    CHECK(split_command("   ").empty());
}

TEST_CASE("bytes that are not UTF-8 are replaced, with a warning, so the TOML written is valid") {
    auto r = parse("global_defs {\n  router_id lb\xe9\n}\n");
    REQUIRE_FALSE(r.error);
    CHECK(r.statements[0].block[0].arguments[0] == "lb\xef\xbf\xbd");
    CHECK(warnings(r) == std::vector<std::string>{"/etc/keepalived/keepalived.conf:2: warning: "
                                                  "line is not valid UTF-8: the bad bytes read "
                                                  "as U+FFFD"});
}
