#include "base/durable_file.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

using namespace vigil;

namespace {

struct scratch_folder {
    std::filesystem::path path;
    scratch_folder() {
        char pattern[] = "/tmp/vigil-durable-XXXXXX";
        path = ::mkdtemp(pattern);
    }
    ~scratch_folder() { std::filesystem::remove_all(path); }
};

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("a durable replace leaves the new content and no temporary") {
    scratch_folder dir;
    auto file = dir.path / "drained";
    REQUIRE_FALSE(replace_file_durably(file, "a\n"));
    REQUIRE_FALSE(replace_file_durably(file, "b\nc\n"));
    CHECK(read_file(file) == "b\nc\n");
    CHECK_FALSE(std::filesystem::exists(temporary_path(file)));
}

TEST_CASE("a durable replace that cannot write keeps the old file") {
    scratch_folder dir;
    auto file = dir.path / "drained";
    REQUIRE_FALSE(replace_file_durably(file, "old\n"));
    // The temporary's name is taken by a folder: the write fails before anything is renamed.
    std::filesystem::create_directory(temporary_path(file));
    auto ec = replace_file_durably(file, "new\n");
    CHECK(ec);
    CHECK(read_file(file) == "old\n");
}

TEST_CASE("a durable replace into a missing folder reports the error") {
    scratch_folder dir;
    auto ec = replace_file_durably(dir.path / "missing" / "drained", "x\n");
    CHECK(ec == std::errc::no_such_file_or_directory);
}

TEST_CASE("a stale temporary left by a crash is removed") {
    scratch_folder dir;
    auto file = dir.path / "ipvs-owned-services";
    std::ofstream(temporary_path(file)) << "half a fi";
    CHECK(remove_stale_temporary(file));
    CHECK_FALSE(std::filesystem::exists(temporary_path(file)));
    CHECK_FALSE(remove_stale_temporary(file));
}
