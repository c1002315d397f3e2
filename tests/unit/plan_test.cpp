#include "plan.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "checker_specs.hpp"
#include "config/loader.hpp"
#include "ipvs_specs.hpp"
#include "vrrp/reload_effect.hpp"
#include "vrrp_specs.hpp"

using namespace vigil;

namespace {

struct scratch_dir {
    std::filesystem::path path;
    scratch_dir() {
        char pattern[] = "/tmp/vigil-plan-test-XXXXXX";
        path = ::mkdtemp(pattern);
    }
    ~scratch_dir() { std::filesystem::remove_all(path); }
    void write(const std::string& name, const std::string& text) const {
        auto file = path / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << text;
    }
};

std::string instance(const std::string& name, int vrid, int priority,
                     const std::string& extra = "") {
    return "[[vrrp_instance]]\nname = \"" + name + "\"\ninterface = \"eth0\"\n" +
           "virtual_router_id = " + std::to_string(vrid) +
           "\npriority = " + std::to_string(priority) +
           "\nvirtual_ipaddress = [\"192.0.2.200/24\"]\n" + extra;
}

std::string web(int weight, const std::string& scheduler = "wrr",
                const std::string& check = "tcp") {
    return "[virtual_server]\naddress = \"192.0.2.200:80\"\nscheduler = \"" + scheduler +
           "\"\ncheck = { type = \"" + check +
           "\", interval = \"5s\", timeout = \"1s\" }\n"
           "[[virtual_server.real_server]]\naddress = \"192.0.2.11:80\"\nweight = " +
           std::to_string(weight) +
           "\n[[virtual_server.real_server]]\naddress = \"192.0.2.12:80\"\nweight = 1\n";
}

config::configuration load(const std::string& main, const std::string& web_file = "") {
    scratch_dir dir;
    std::string include = web_file.empty() ? "" : "include = [\"conf.d/*.toml\"]\n";
    dir.write("vigil.toml", "[global]\nnode = \"lb1\"\n" + include + main);
    if (!web_file.empty()) {
        dir.write("conf.d/web.toml", web_file);
    }
    auto loaded = config::load_configuration((dir.path / "vigil.toml").string());
    std::string errors;
    for (const auto& d : loaded.diagnostics) {
        errors += config::to_string(d) + "\n";
    }
    INFO(errors);
    REQUIRE(loaded.config);
    return std::move(*loaded.config);
}

// What the daemon would hold after running `config`, with `master` in MASTER.
running_state running(const config::configuration& config, const std::string& master = "") {
    running_state now;
    auto specs = virtual_server_specs(config);
    if (!specs.empty()) {
        now.ipvs.emplace();
        now.ipvs->set_specs(std::move(specs));
        now.kernel = now.ipvs->desired();
    }
    now.vrrp = instance_specs(config);
    for (const auto& spec : now.vrrp) {
        vrrp::instance_status status;
        status.name = spec.name;
        status.current = spec.name == master ? vrrp::state::master : vrrp::state::backup;
        now.vrrp_status.push_back(status);
    }
    now.checks = checked_real_servers(config);
    // Every check has reported once: the health monitor hands on the configured weight.
    for (const auto& check : now.checks) {
        if (now.ipvs) {
            now.ipvs->set_health(check.name, {true, check.weight});
        }
    }
    now.virtual_servers = config.virtual_servers.size();
    now.global = config.global;
    now.sync_groups = config.vrrp_sync_groups;
    now.alerts = config.alerts;
    return now;
}

}  // namespace

TEST_CASE("plan: reloading the same configuration changes nothing") {
    auto config = load(instance("VI_1", 51, 150), web(3));
    auto plan = plan_reload(running(config, "VI_1"), config);
    CHECK_FALSE(plan.changes_something());
    CHECK(plan.ipvs_operations.empty());
    CHECK(plan.ipvs_pending == 0);
    CHECK(render_plan_text(to_json(plan)) == "no changes\n");
}

TEST_CASE("plan: a changed weight is one IPVS destination edit and nothing else") {
    auto before = load(instance("VI_1", 51, 150), web(3));
    auto after = load(instance("VI_1", 51, 150), web(5));
    auto plan = plan_reload(running(before), after);
    REQUIRE(plan.ipvs_operations.size() == 1);
    CHECK(plan.ipvs_operations[0].kind == ipvs::op_kind::edit_destination);
    CHECK(plan.ipvs_operations[0].dest.weight == 5);
    CHECK(plan.vrrp.empty());
    CHECK(plan.checks_changed.empty());  // the weight is the table's, not the check's
    CHECK(plan.changes_something());
}

TEST_CASE("plan: a drained real server stays at weight 0 when its configured weight changes") {
    auto now = running(load(instance("VI_1", 51, 150), web(3)));
    now.ipvs->set_health("web/192.0.2.11:80", {true, 0});
    auto plan = plan_reload(now, load(instance("VI_1", 51, 150), web(5)));
    CHECK(plan.ipvs_operations.empty());
}

TEST_CASE("plan: a changed scheduler edits the service") {
    auto plan = plan_reload(running(load(instance("VI_1", 51, 150), web(3))),
                            load(instance("VI_1", 51, 150), web(3, "rr")));
    REQUIRE(plan.ipvs_operations.size() == 1);
    CHECK(plan.ipvs_operations[0].kind == ipvs::op_kind::edit_service);
}

TEST_CASE("plan: a removed virtual server deletes its service and its checks") {
    auto plan = plan_reload(running(load(instance("VI_1", 51, 150), web(3))),
                            load(instance("VI_1", 51, 150)));
    REQUIRE(plan.ipvs_operations.size() == 1);
    CHECK(plan.ipvs_operations[0].kind == ipvs::op_kind::delete_service);
    CHECK(plan.checks_removed ==
          std::vector<std::string>{"web/192.0.2.11:80", "web/192.0.2.12:80"});
    REQUIRE(plan.refusals.size() == 1);
    CHECK(plan.refusals[0].find("every virtual server") != std::string::npos);
}

TEST_CASE("plan: a first virtual server starts IPVS with its service and destinations") {
    auto plan = plan_reload(running(load(instance("VI_1", 51, 150))),
                            load(instance("VI_1", 51, 150), web(3)));
    REQUIRE(plan.ipvs_operations.size() == 3);
    CHECK(plan.ipvs_operations[0].kind == ipvs::op_kind::add_service);
    CHECK(plan.checks_added.size() == 2);
}

TEST_CASE("plan: a changed check type is a changed check") {
    auto plan = plan_reload(running(load(instance("VI_1", 51, 150), web(3))),
                            load(instance("VI_1", 51, 150), web(3, "wrr", "http")));
    CHECK(plan.checks_changed.size() == 2);
    CHECK(plan.ipvs_operations.empty());
}

TEST_CASE("plan: a priority change is in place and the master does not resign") {
    auto plan = plan_reload(running(load(instance("VI_1", 51, 150)), "VI_1"),
                            load(instance("VI_1", 51, 100)));
    REQUIRE(plan.vrrp.size() == 1);
    CHECK(plan.vrrp[0].change == "in_place");
    CHECK(plan.vrrp[0].priority_from == 150u);
    CHECK(plan.vrrp[0].priority_to == 100u);
    CHECK_FALSE(plan.vrrp[0].master_resigns);
}

TEST_CASE("plan: another VRID restarts the instance and a master resigns") {
    auto plan = plan_reload(running(load(instance("VI_1", 51, 150)), "VI_1"),
                            load(instance("VI_1", 52, 150)));
    REQUIRE(plan.vrrp.size() == 1);
    CHECK(plan.vrrp[0].change == "restart");
    CHECK(plan.vrrp[0].state == "MASTER");
    CHECK(plan.vrrp[0].master_resigns);
    CHECK(to_json(plan).at("master_resigns").as_bool());
    CHECK(render_plan_text(to_json(plan)).find("the master resigns") != std::string::npos);
}

TEST_CASE("plan: a backup restarted does not count as a master resigning") {
    auto plan =
        plan_reload(running(load(instance("VI_1", 51, 150)), ""), load(instance("VI_1", 52, 150)));
    REQUIRE(plan.vrrp.size() == 1);
    CHECK_FALSE(plan.vrrp[0].master_resigns);
}

TEST_CASE("plan: instances added and removed are named, removing all is a refusal") {
    auto before = load(instance("VI_1", 51, 150));
    auto plan = plan_reload(running(before, "VI_1"),
                            load(instance("VI_1", 51, 150) + instance("VI_2", 52, 100)));
    REQUIRE(plan.vrrp.size() == 1);
    CHECK(plan.vrrp[0].name == "VI_2");
    CHECK(plan.vrrp[0].change == "added");
    auto emptied = plan_reload(running(before, "VI_1"), load("", web(3)));
    REQUIRE(emptied.vrrp.size() == 1);
    CHECK(emptied.vrrp[0].change == "removed");
    CHECK(emptied.vrrp[0].master_resigns);
    REQUIRE(emptied.refusals.size() == 1);
    CHECK(emptied.refusals[0].find("every VRRP instance") != std::string::npos);
}

TEST_CASE("plan: a kernel that differs from the running table is counted as pending") {
    auto config = load(instance("VI_1", 51, 150), web(3));
    auto now = running(config);
    now.kernel->clear();
    auto plan = plan_reload(now, config);
    CHECK_FALSE(plan.changes_something());
    CHECK(plan.ipvs_pending == 3);
}

TEST_CASE("reload effect: priority and notify are in place, the owner's 255 and VRID restart") {
    auto config = load(instance("VI_1", 51, 150));
    auto current = instance_specs(config).front();
    auto wanted = current;
    CHECK(vrrp::classify_reload(wanted, current) == vrrp::reload_effect::unchanged);
    wanted.election.priority = 120;
    CHECK(vrrp::classify_reload(wanted, current) == vrrp::reload_effect::in_place);
    wanted.election.priority = 255;
    CHECK(vrrp::classify_reload(wanted, current) == vrrp::reload_effect::restart);
    wanted = current;
    wanted.virtual_router_id = 9;
    CHECK(vrrp::classify_reload(wanted, current) == vrrp::reload_effect::restart);
}

TEST_CASE("plan: log, sync group and alert changes are listed, one line each") {
    auto two = instance("VI_1", 51, 100) + instance("VI_2", 52, 100);
    auto before = load("[global.log]\nlevel = \"info\"\n" + two +
                       "[[vrrp_sync_group]]\nname = \"G\"\ninstances = [\"VI_1\", \"VI_2\"]\n");
    auto after = load("[global.log]\nlevel = \"debug\"\n" + two +
                      "[[alert]]\nevents = [\"vrrp.*\"]\ncommand = [\"/bin/true\"]\n");
    auto plan = plan_reload(running(before), after);
    CHECK(plan.changes_something());
    CHECK(plan.settings ==
          std::vector<std::string>{
              "log.level: info -> debug", "sync group G: removed",
              "alert 1: added [vrrp.*] to command [/bin/true] (timeout 5s, retries 3)"});
    auto reply = to_json(plan);
    CHECK(reply.at("settings").as_array().size() == 3);
    CHECK(render_plan_text(reply).find("settings:\n  log.level: info -> debug\n") !=
          std::string::npos);
    CHECK(plan_reload(running(after), after).settings.empty());
}
