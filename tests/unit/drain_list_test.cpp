#include "drain_list.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace vigil;

// The drain list on a real file: what an operator drained (servers and the node) comes back after
// a restart, and a change that cannot be written is not made.

namespace {

struct scratch_folder {
    std::filesystem::path path;
    scratch_folder() {
        char pattern[] = "/tmp/vigil-drain-list-XXXXXX";
        path = ::mkdtemp(pattern);
    }
    ~scratch_folder() { std::filesystem::remove_all(path); }
};

std::string read_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("a node drain and server drains survive a restart, and the node is no server name") {
    scratch_folder state;
    {
        drain_list list(state.path);
        CHECK(*list.set("web/10.0.0.1:80", true));
        CHECK(*list.set_node_drained(true));
        CHECK_FALSE(*list.set_node_drained(true));  // already drained: nothing written again
        CHECK(*list.set("web", true));
    }
    CHECK(read_file(state.path / "drained") == "@node\nweb\nweb/10.0.0.1:80\n");

    auto again = drain_list::load(state.path);
    REQUIRE(again.has_value());
    CHECK(again->node_drained());
    // Status and metrics list names(): the node is not among them.
    CHECK(again->names() == std::set<std::string, std::less<>>{"web", "web/10.0.0.1:80"});
    CHECK(*again->set_node_drained(false));
    CHECK(read_file(state.path / "drained") == "web\nweb/10.0.0.1:80\n");
    auto undrained = drain_list::load(state.path);
    REQUIRE(undrained.has_value());
    CHECK_FALSE(undrained->node_drained());
}

TEST_CASE("a node drain that cannot be written is refused and not made") {
    scratch_folder state;
    // The state folder's parent is a regular file: the folder cannot be created.
    std::ofstream(state.path / "file") << "x";
    drain_list list(state.path / "file" / "state");
    auto changed = list.set_node_drained(true);
    CHECK_FALSE(changed.has_value());
    CHECK_FALSE(list.node_drained());
}
