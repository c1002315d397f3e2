#include "config/file_source.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "config/loader.hpp"

using namespace vigil::config;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> lines(const load_result& result) {
    std::vector<std::string> out;
    for (const auto& d : result.diagnostics) {
        out.push_back(to_string(d));
    }
    return out;
}

}  // namespace

TEST_CASE("configs loaded from memory give what the same files on disk give") {
    fs::path source(VIGIL_SOURCE_DIR);
    for (auto main :
         {source / "etc/vigil/vigil.toml", source / "tests/config/bad/syntax-in-include.toml",
          source / "tests/config/bad/duplicate-vs-name.toml"}) {
        CAPTURE(main.string());
        std::map<std::string, std::string> files{{main.string(), read_text(main)}};
        for (const auto& entry : fs::recursive_directory_iterator(main.parent_path())) {
            if (entry.is_regular_file() && entry.path().extension() == ".toml") {
                files.emplace(entry.path().string(), read_text(entry.path()));
            }
        }
        auto on_disk = load_configuration(main.string());
        auto in_memory = load_configuration(main.string(), memory_source(std::move(files)));
        CHECK(lines(in_memory) == lines(on_disk));
        CHECK(in_memory.config.has_value() == on_disk.config.has_value());
        if (on_disk.config) {
            CHECK(in_memory.config->virtual_servers.size() ==
                  on_disk.config->virtual_servers.size());
        }
    }
}

TEST_CASE("a memory glob matches like glob(3): sorted, '*' stops at '/', hidden files skipped") {
    memory_source files({{"/c/b.toml", ""},
                         {"/c/a.toml", ""},
                         {"/c/.hidden.toml", ""},
                         {"/c/d/e.toml", ""},
                         {"/c/x.txt", ""}});
    auto matches = files.glob("/c/*.toml");
    CHECK(matches.error.empty());
    CHECK(matches.paths == std::vector<std::string>{"/c/a.toml", "/c/b.toml"});
    CHECK(files.glob("/none/*.toml").paths.empty());
    CHECK_FALSE(files.read("/c/missing.toml").text);
    CHECK(files.read("/c/missing.toml").error == "No such file or directory");
}
