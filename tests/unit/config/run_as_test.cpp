// Who alert, notify, track and check programs run as: `user` (and `group`) are looked up when the
// config is loaded, and a name the host does not know is a located error, not a failure of every
// run.

#include <doctest/doctest.h>
#include <pwd.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "config/loader.hpp"

using namespace vigil;
using namespace vigil::config;

namespace {

// The one check a real server runs; nullptr when it runs none or several.
const check* only_check(const virtual_server& vs, const real_server& rs) {
    const auto& checks = vs.checks_for(rs);
    return checks.size() == 1 ? &checks.front() : nullptr;
}

struct scratch_dir {
    std::filesystem::path path;
    scratch_dir() {
        char pattern[] = "/tmp/vigil-run-as-test-XXXXXX";
        path = ::mkdtemp(pattern);
    }
    ~scratch_dir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& text) const {
        auto file = path / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << text;
        return file.string();
    }
};

std::vector<std::string> messages(const load_result& result) {
    std::vector<std::string> out;
    for (const auto& d : result.diagnostics) {
        out.push_back(to_string(d));
    }
    return out;
}

std::string joined(const load_result& result) {
    std::string out;
    for (const auto& message : messages(result)) {
        out += message + "\n";
    }
    return out;
}

// One instance with every kind of program that can run as a user; `extra` is appended to it.
std::string instance_with(const std::string& extra) {
    return R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddress = ["192.168.1.200/24"]
)" + extra;
}

uid_t nobody_uid() {
    return ::getpwnam("nobody")->pw_uid;
}
gid_t nobody_gid() {
    return ::getpwnam("nobody")->pw_gid;
}

}  // namespace

TEST_CASE("alert, notify, track and check programs take a user and a group, looked up on load") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", instance_with(R"(notify = ["/bin/true"]
notify_user = "nobody"
notify_group = "daemon"
track_script = [{ name = "t", command = ["/bin/true"], user = "nobody" }]

[global]
include = ["vs/*.toml"]

[[alert]]
events = ["*"]
command = ["/bin/true"]
user = "nobody"

[[alert]]
events = ["*"]
command = ["/bin/true"]
user = "nobody"
group = "daemon"
)"));
    dir.write("vs/web.toml", R"([virtual_server]
address = "192.168.1.200:80"
check = { type = "script", command = ["/bin/true"], user = "nobody", group = "daemon" }
[[virtual_server.real_server]]
address = "192.168.1.10:80"
)");
    auto result = load_configuration(main);
    INFO(joined(result));
    REQUIRE(result.config);
    const auto& config = *result.config;

    REQUIRE(config.alerts.size() == 2);
    REQUIRE(config.alerts[0].user);
    REQUIRE(config.alerts[0].user->found());
    CHECK(config.alerts[0].user->name == "nobody");
    CHECK(config.alerts[0].user->credentials->uid == nobody_uid());
    CHECK(config.alerts[0].user->credentials->gid == nobody_gid());
    REQUIRE(config.alerts[1].user);
    CHECK(config.alerts[1].user->credentials->uid == nobody_uid());
    CHECK(config.alerts[1].user->credentials->gid == 1);

    const auto& instance = config.vrrp_instances.at(0);
    REQUIRE(instance.notify.user);
    CHECK(instance.notify.user->credentials->uid == nobody_uid());
    CHECK(instance.notify.user->credentials->gid == 1);
    REQUIRE(instance.track_script.at(0).user);
    CHECK(instance.track_script[0].user->credentials->uid == nobody_uid());

    const auto& vs = config.virtual_servers.at(0);
    const auto* check = only_check(vs, vs.real_servers.at(0));
    REQUIRE(check);
    REQUIRE(check->user);
    CHECK(check->user->credentials->uid == nobody_uid());
    CHECK(check->user->credentials->gid == 1);
}

TEST_CASE("without a user every program runs as vigil's own user") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", instance_with(R"(notify = ["/bin/true"]
track_script = [{ name = "t", command = ["/bin/true"] }]
[[alert]]
events = ["*"]
command = ["/bin/true"]
)"));
    auto result = load_configuration(main);
    INFO(joined(result));
    REQUIRE(result.config);
    CHECK_FALSE(result.config->alerts.at(0).user);
    CHECK_FALSE(result.config->vrrp_instances.at(0).notify.user);
    CHECK_FALSE(result.config->vrrp_instances.at(0).track_script.at(0).user);
}

TEST_CASE("an unknown user is refused where it is written, for every kind of program") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", instance_with(R"(notify_master = ["/bin/true"]
notify_user = "vigil-no-such-user"
track_script = [{ name = "t", command = ["/bin/true"], user = "vigil-no-such-user" }]

[global]
include = ["vs/*.toml"]

[[alert]]
events = ["*"]
command = ["/bin/true"]
user = "vigil-no-such-user"
)"));
    auto web = dir.write("vs/web.toml", R"([virtual_server]
address = "192.168.1.200:80"
check = { type = "script", command = ["/bin/true"], user = "vigil-no-such-user" }
)");
    auto result = load_configuration(main);
    INFO(joined(result));
    CHECK_FALSE(result.config);
    for (const auto& d : result.diagnostics) {
        CHECK(d.kind == rule::unknown_user);
    }
    CHECK(messages(result) ==
          std::vector<std::string>{
              main + ":7:15: error: vrrp_instance[0].notify_user: unknown user "
                     "\"vigil-no-such-user\"",
              main + ":8:63: error: vrrp_instance[0].track_script[0].user: unknown user "
                     "\"vigil-no-such-user\"",
              main + ":16:8: error: alert[0].user: unknown user \"vigil-no-such-user\"",
              web + ":3:60: error: virtual_server.check.user: unknown user "
                    "\"vigil-no-such-user\"",
          });
}

TEST_CASE("an unknown group is refused at the group; a group needs a user") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", instance_with(R"(notify = ["/bin/true"]
notify_group = "daemon"
[[alert]]
events = ["*"]
command = ["/bin/true"]
user = "nobody"
group = "vigil-no-such-group"
)"));
    auto result = load_configuration(main);
    INFO(joined(result));
    CHECK_FALSE(result.config);
    CHECK(messages(result) ==
          std::vector<std::string>{
              main + ":7:16: error: vrrp_instance[0].notify_group: needs notify_user, the user "
                     "to run as in this group",
              main + ":12:9: error: alert[0].group: unknown group \"vigil-no-such-group\"",
          });
    REQUIRE(result.diagnostics.size() == 2);
    CHECK(result.diagnostics[0].kind == rule::missing_key);
    CHECK(result.diagnostics[1].kind == rule::unknown_user);
}

TEST_CASE("an alert that POSTs to a url runs nothing, so it takes no user") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", instance_with(R"([[alert]]
events = ["*"]
url = "http://alerts.example/"
user = "nobody"
)"));
    auto result = load_configuration(main);
    INFO(joined(result));
    CHECK_FALSE(result.config);
    CHECK(messages(result) ==
          std::vector<std::string>{main + ":9:8: error: alert[0].user: only a command runs as a "
                                          "user, not a url"});
}
