#include "config/loader.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

using namespace vigil;
using namespace vigil::config;
using namespace std::chrono_literals;

namespace {

// The one check a real server runs; nullptr when it runs none or several.
const check* only_check(const virtual_server& vs, const real_server& rs) {
    const auto& checks = vs.checks_for(rs);
    return checks.size() == 1 ? &checks.front() : nullptr;
}

std::string source_path(const std::string& relative) {
    return std::string(VIGIL_SOURCE_DIR) + "/" + relative;
}

std::string joined(const std::vector<diagnostic>& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics) {
        out += to_string(d) + "\n";
    }
    return out;
}

// A scratch folder for configs a test writes itself.
struct scratch_dir {
    std::filesystem::path path;
    scratch_dir() {
        char pattern[] = "/tmp/vigil-config-test-XXXXXX";
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

}  // namespace

TEST_CASE("the classic keepalived example loads with keepalived's meaning") {
    auto result = load_configuration(source_path("tests/config/good/classic/vigil.toml"));
    INFO(joined(result.diagnostics));
    REQUIRE(result.config);
    const auto& config = *result.config;
    REQUIRE(config.vrrp_instances.size() == 1);
    const auto& vi = config.vrrp_instances.front();
    CHECK(vi.name == "VI_1");
    CHECK(vi.virtual_router_id == 51);
    CHECK(vi.priority == 100);
    CHECK(vi.advert_interval == 1s);
    CHECK(vi.version == vrrp::protocol_version::v2);
    CHECK(to_string(vi.virtual_ipaddress.at(0)) == "192.168.1.200/24");
    CHECK(vi.preempt);

    REQUIRE(config.virtual_servers.size() == 1);
    const auto& vs = config.virtual_servers.front();
    CHECK(vs.name == "web");
    CHECK(vs.service_key() == "192.168.1.200:80/tcp");
    CHECK(vs.scheduler == ipvs::scheduler::wrr);
    CHECK(vs.forwarding == ipvs::forwarding::nat);
    REQUIRE(vs.real_servers.size() == 2);
    CHECK(vs.real_servers[0].name == "web/192.168.1.101:80");
    CHECK(vs.real_servers[0].weight == 3);
    CHECK(vs.real_servers[1].name == "web/192.168.1.102:80");
    CHECK(vs.real_servers[1].weight == 2);
    for (const auto& rs : vs.real_servers) {
        const auto* check = only_check(vs, rs);
        REQUIRE(check);
        CHECK(check->type == check_type::http);
        CHECK(check->method == http_method::get);
        CHECK(check->path == "/health_check");
        CHECK(check->timeout == 3s);
        CHECK(check->interval == 6s);
        CHECK(check->rise == 2);
        CHECK(check->fall == 2);
        CHECK(check->status.contains(200));
    }
}

TEST_CASE("every key of the model is read with its value") {
    auto result = load_configuration(source_path("tests/config/good/full/vigil.toml"));
    INFO(joined(result.diagnostics));
    REQUIRE(result.config);
    const auto& config = *result.config;
    CHECK(config.global.node == "director-a");
    CHECK(config.global.control_socket == "/tmp/vigil-full.sock");
    CHECK(config.global.log.target == "syslog");
    CHECK(config.global.log.format == log_format_choice::text);
    CHECK(config.global.log.level == log_level::debug);
    CHECK(config.global.state_dir == "/tmp/vigil-full-state");
    CHECK(config.global.flap_threshold == 3);
    CHECK(config.global.flap_window == 120s);
    CHECK(config.global.ipvs.backend == ipvs_backend_choice::memory);
    CHECK(config.global.ipvs.resync_interval == 60s);
    CHECK(config.global.ipvs.on_shutdown == shutdown_action::remove);

    REQUIRE(config.vrrp_instances.size() == 3);
    const auto& ext = config.vrrp_instances[0];
    CHECK(ext.priority == 255);
    CHECK(ext.advert_interval == 100ms);
    CHECK(ext.virtual_ipaddress.size() == 2);
    CHECK(ext.virtual_ipaddress[1].length == 32);
    CHECK(ext.unicast());
    CHECK(to_string(*ext.unicast_source) == "192.0.2.1");
    CHECK(ext.unicast_peers.size() == 2);
    CHECK(ext.preempt_delay == 30s);
    CHECK(ext.garp.master_delay == 2s);
    CHECK(ext.garp.master_repeat == 3);
    CHECK(ext.garp.master_refresh == 60s);
    CHECK(ext.garp.master_refresh_repeat == 2);
    CHECK(ext.garp.interval == 10ms);
    CHECK_FALSE(ext.sync_daemon);
    CHECK_FALSE(config.vrrp_instances[1].sync_daemon);
    REQUIRE(ext.track_interface.size() == 2);
    CHECK(ext.track_interface[0] == tracked_interface{"eth1", 0});
    CHECK(ext.track_interface[1] == tracked_interface{"eth2", -20});
    REQUIRE(ext.track_script.size() == 1);
    CHECK(ext.track_script[0].name == "haproxy");
    CHECK(ext.track_script[0].command == std::vector<std::string>{"/usr/bin/pgrep", "haproxy"});
    CHECK(ext.track_script[0].interval == 2s);
    CHECK(ext.track_script[0].timeout == 1s);
    CHECK(ext.track_script[0].rise == 2);
    CHECK(ext.track_script[0].fall == 3);
    CHECK(ext.track_script[0].weight == -30);
    CHECK(ext.track_script[0].user->name == "nobody");
    CHECK(ext.track_file == std::vector<tracked_file>{{"/etc/vigil/drain", -1}});
    CHECK(ext.notify.any == std::vector<std::string>{"/usr/local/bin/vigil-notify", "--verbose"});
    CHECK(ext.notify.master == std::vector<std::string>{"/usr/local/bin/became-master"});
    CHECK(ext.notify.stop == std::vector<std::string>{"/usr/local/bin/stopped"});
    CHECK(ext.notify.timeout == 30s);
    CHECK(ext.use_vmac);
    CHECK(ext.vmac_name == "vrrp.ext");
    CHECK_FALSE(config.vrrp_instances[1].use_vmac);
    REQUIRE(config.vrrp_sync_groups.size() == 1);
    CHECK(config.vrrp_sync_groups[0].name == "nat");
    CHECK(config.vrrp_sync_groups[0].instances == std::vector<std::string>{"external", "internal"});
    // The interface defaults to the instance's (the id, left out, would default to its VRID).
    REQUIRE(config.vrrp_instances[2].sync_daemon);
    CHECK(config.vrrp_instances[2].sync_daemon->interface == "eth1");
    CHECK(config.vrrp_instances[2].sync_daemon->id == 7);
    CHECK(config.vrrp_instances[1].family() == address_family::ipv6);
    CHECK(config.vrrp_instances[1].advert_interval == 40950ms);
    const auto& internal = config.vrrp_instances[2];
    CHECK(internal.auth_pass == "secret12");
    CHECK_FALSE(internal.preempt);
    CHECK(internal.advert_interval == 255s);

    // Includes load in sorted order; the overlapping second glob adds nothing twice.
    REQUIRE(config.virtual_servers.size() == 2);
    const auto& mark = config.virtual_servers[0];
    CHECK(mark.name == "mark7");
    CHECK(mark.fwmark == 7u);
    CHECK(mark.family == address_family::ipv6);
    CHECK(mark.service_key() == "fwmark 7/IPv6");
    CHECK(mark.scheduler == ipvs::scheduler::mh);
    CHECK(mark.scheduler_flags == std::vector<std::string>{"mh-port", "mh-fallback"});
    CHECK(mark.real_servers[0].upper_threshold == 1000);
    CHECK(mark.real_servers[0].lower_threshold == 800);
    CHECK(mark.forwarding == ipvs::forwarding::dr);
    CHECK(mark.persistence_timeout == 1h);
    CHECK(mark.persistence_netmask == 64u);
    CHECK(mark.quorum == 5);
    CHECK(mark.hysteresis == 2);
    CHECK(mark.on_failure == failure_action::inhibit);
    CHECK(mark.default_checks.empty());
    CHECK(mark.real_servers[0].name == "mark7/[fd00::11]:0");
    CHECK(mark.real_servers[0].weight == 0);
    CHECK(only_check(mark, mark.real_servers[0]) == nullptr);
    const auto* script = only_check(mark, mark.real_servers[1]);
    REQUIRE(script);
    CHECK(script->command == std::vector<std::string>{"/bin/true", "--flag"});
    CHECK(script->user->name == "nobody");
    CHECK(script->dynamic_weight);
    CHECK(script->recheck_interval == 2s);
    CHECK(script->initial_state == initial_health::down);

    const auto& udp = config.virtual_servers[1];
    CHECK(udp.name == "b-udp");
    CHECK(udp.protocol == ipvs::protocol::udp);
    CHECK(udp.persistence_netmask == 24u);
    CHECK(udp.one_packet);
    CHECK(to_string(*udp.sorry_server) == "192.0.2.250:53");
    const auto* https = only_check(udp, udp.real_servers[0]);
    REQUIRE(https);
    CHECK(https->method == http_method::head);
    CHECK(https->host == "dns.example");
    CHECK(https->status.to_string() == "200-204,301");
    CHECK(https->body_regex == "^OK\\b");
    CHECK(https->body_digest);
    CHECK(https->sni == "dns.example");
    CHECK(https->tls_verify);
    CHECK(to_string(*https->connect) == "192.0.2.99:8443");
    CHECK(https->body_limit == 1024);
    CHECK(https->reuse_connection);
    // recheck_interval defaults to the interval, or 1s when the interval is longer.
    CHECK(https->recheck_interval == 100ms);
    const auto* tcp = only_check(udp, udp.real_servers[2]);
    REQUIRE(tcp);
    CHECK(tcp->send == "PING\r\n");
    CHECK(tcp->expect == "PONG");
    CHECK(to_string(*tcp->connect) == "192.0.2.23:5353");
    CHECK(tcp->recheck_interval == 1s);
    CHECK(tcp->initial_state == initial_health::up);
    CHECK_FALSE(tcp->reuse_connection);
    CHECK(tcp->body_limit == 64 * 1024);
    // A real server's own check replaces the default whole: nothing is merged in.
    const auto* own = only_check(udp, udp.real_servers[1]);
    REQUIRE(own);
    CHECK_FALSE(own->tls_verify);
    CHECK(own->path == "/");
    CHECK_FALSE(own->host);
    // `checks`: several, in order, named by type unless named.
    const auto& several = udp.checks_for(udp.real_servers[3]);
    REQUIRE(several.size() == 3);
    CHECK(several[0].type == check_type::dns);
    CHECK(several[0].name.empty());
    CHECK(several[1].name == "api");
    CHECK(several[1].path == "/ready");
    CHECK(several[2].name == "api-tls");
    CHECK_FALSE(several[2].tls_verify);
    CHECK_FALSE(own->bind);
    CHECK(own->http_version == checkers::http_version::http_1_1);
    CHECK(own->urls.empty());
    const auto* urls = only_check(udp, udp.real_servers[4]);
    REQUIRE(urls);
    CHECK(to_string(*urls->bind) == "192.0.2.5");
    CHECK(urls->http_version == checkers::http_version::http_1_0);
    CHECK(urls->host == "all.example");
    CHECK(urls->body_limit == 2048);
    REQUIRE(urls->urls.size() == 2);
    CHECK(urls->urls[0].path == "/a");
    CHECK_FALSE(urls->urls[0].host);
    CHECK(urls->urls[0].body_regex == "^OK");
    CHECK(urls->urls[0].body_regex_absent == "maint");
    CHECK(urls->urls[0].status.to_string() == "200-299");
    CHECK(urls->urls[1].path == "/b?x=1");
    CHECK(urls->urls[1].host == "b.example");
    CHECK(urls->urls[1].status.to_string() == "204,300-302");
    CHECK(urls->urls[1].digest);
    const auto* bound_tcp = only_check(udp, udp.real_servers[5]);
    REQUIRE(bound_tcp);
    CHECK(to_string(*bound_tcp->bind) == "192.0.2.5");
}

TEST_CASE("the shipped examples in etc/ are valid") {
    auto result = load_configuration(source_path("etc/vigil/vigil.toml"));
    INFO(joined(result.diagnostics));
    REQUIRE(result.config);
    CHECK(result.config->virtual_servers.size() == 2);
}

TEST_CASE("every error of a config is reported in one run, in file order") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", R"([global]
include = ["vs/*.toml"]
[[vrrp_instance]]
name = "a"
interface = "eth0"
virtual_router_id = 300
priority = "high"
virtual_ipaddress = ["10.0.0.1/33"]
colour = "blue"
)");
    dir.write("vs/web.toml", R"([virtual_server]
address = "10.0.0.1:80"
scheduler = "fastest"
)");
    auto result = load_configuration(main);
    CHECK_FALSE(result.config);
    REQUIRE(result.diagnostics.size() == 5);
    CHECK(to_string(result.diagnostics[0]) ==
          main +
              ":6:21: error: vrrp_instance[0].virtual_router_id: 300 is out of range (1 to 255)");
    CHECK(to_string(result.diagnostics[1]) ==
          main + ":7:12: error: vrrp_instance[0].priority: expected an integer, got a string");
    CHECK(result.diagnostics[2].kind == rule::bad_address);
    CHECK(result.diagnostics[3].kind == rule::unknown_key);
    CHECK(result.diagnostics[4].where.file == dir.path.string() + "/vs/web.toml");
    CHECK(result.diagnostics[4].where.line == 3);
}

TEST_CASE("an unknown key near a known one suggests it") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", R"([[vrrp_instance]]
name = "a"
interface = "eth0"
virtual_router_id = 1
priorty = 100
virtual_ipaddress = ["10.0.0.1"]
)");
    auto result = load_configuration(main);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].message ==
          "vrrp_instance[0]: unknown key \"priorty\" (did you mean \"priority\"?)");
}

TEST_CASE("a main file that cannot be read is one diagnostic") {
    auto result = load_configuration("/nonexistent/vigil.toml");
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) ==
          "/nonexistent/vigil.toml:1:1: error: cannot read /nonexistent/vigil.toml: No such file "
          "or directory");
}

TEST_CASE("a relative main path keeps its spelling in diagnostics and includes") {
    scratch_dir dir;
    dir.write("vigil.toml", "[global]\ninclude = [\"none/*.toml\"]\n");
    auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path);
    auto result = load_configuration("./vigil.toml");
    std::filesystem::current_path(cwd);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) ==
          "./vigil.toml:2:12: error: global.include: \"none/*.toml\" matches no file (looked for "
          "./none/*.toml)");
}

namespace {

// A shape of main file that is valid on its own, for tests about what is around it.
const std::string one_instance = R"([[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
virtual_ipaddress = ["192.168.1.200/24"]
)";

// Loads `main` on another thread; a loader still blocked after a few seconds (in open(2) of a
// named pipe, waiting for a writer) is released by opening `pipe` for writing, so a failure shows
// as a failed check instead of a test run that never ends.
load_result load_with_deadline(const std::string& main, const std::string& pipe, bool& finished) {
    auto pending = std::async(std::launch::async, [&] { return load_configuration(main); });
    finished = pending.wait_for(5s) == std::future_status::ready;
    while (pending.wait_for(100ms) != std::future_status::ready) {
        int fd = ::open(pipe.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            ::close(fd);
        }
    }
    return pending.get();
}

}  // namespace

TEST_CASE("an included named pipe is refused at once, without waiting for a writer") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", one_instance + "[global]\ninclude = [\"vs/*.toml\"]\n");
    std::filesystem::create_directories(dir.path / "vs");
    auto pipe = (dir.path / "vs/web.toml").string();
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
    bool finished = false;
    auto result = load_with_deadline(main, pipe, finished);
    CHECK(finished);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) == main + ":7:12: error: global.include: cannot read " +
                                                  pipe + ": is not a regular file (a named pipe)");
}

TEST_CASE("a main file that is a named pipe is refused at once") {
    scratch_dir dir;
    auto pipe = (dir.path / "vigil.toml").string();
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);
    bool finished = false;
    auto result = load_with_deadline(pipe, pipe, finished);
    CHECK(finished);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) ==
          pipe + ":1:1: error: cannot read " + pipe + ": is not a regular file (a named pipe)");
}

TEST_CASE("a symlink to a regular file is read, a symlink to a device is not") {
    scratch_dir dir;
    auto real = dir.write("real.toml", one_instance);
    auto to_file = (dir.path / "vigil.toml").string();
    std::filesystem::create_symlink(real, to_file);
    auto result = load_configuration(to_file);
    INFO(joined(result.diagnostics));
    CHECK(result.config);

    auto to_device = (dir.path / "zero.toml").string();
    std::filesystem::create_symlink("/dev/zero", to_device);
    result = load_configuration(to_device);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) == to_device + ":1:1: error: cannot read " + to_device +
                                                  ": is not a regular file (a character device)");
}

TEST_CASE("a main file that fails to read is an error, not an empty config") {
    // /proc/self/mem is a regular file whose first page cannot be read.
    auto result = load_configuration("/proc/self/mem");
    CHECK_FALSE(result.config);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) ==
          "/proc/self/mem:1:1: error: cannot read /proc/self/mem: Input/output error");
}

TEST_CASE("a file over 16 MiB is refused without being parsed") {
    scratch_dir dir;
    // A valid file, padded with a comment past the cap.
    auto main =
        dir.write("vigil.toml", one_instance + "#" + std::string(16 * 1024 * 1024, 'x') + "\n");
    auto result = load_configuration(main);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) == main + ":1:1: error: cannot read " + main +
                                                  ": is larger than the 16 MiB a config file may "
                                                  "have");
}

TEST_CASE("a dotted key of 40,000 parts is one located error, not a stack overflow") {
    scratch_dir dir;
    std::string key = "a";
    for (int i = 1; i < 40000; ++i) {
        key += ".a";
    }
    auto main = dir.write("vigil.toml", one_instance + key + " = 1\n");
    auto result = load_configuration(main);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) ==
          main + ":6:64: error: a key of more than 32 dotted parts");
}

TEST_CASE("a table header of 40,000 parts and 40,000 nested arrays are located errors") {
    scratch_dir dir;
    std::string header = "[a";
    for (int i = 1; i < 40000; ++i) {
        header += ".a";
    }
    auto main = dir.write("vigil.toml", header + "]\n");
    auto result = load_configuration(main);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) ==
          main + ":1:65: error: a key of more than 32 dotted parts");

    main = dir.write("vigil.toml", "a = " + std::string(40000, '[') + std::string(40000, ']'));
    result = load_configuration(main);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(to_string(result.diagnostics[0]) ==
          main + ":1:37: error: tables and arrays nested more than 32 deep");
}

TEST_CASE("a non-ASCII character right after a value is a located syntax error") {
    // toml++ 3.3.0 reaches __builtin_unreachable for U+00A1..U+0499 there; the loader refuses
    // them before the parser sees them.
    scratch_dir dir;
    for (const char* character : {"\u00a1", "\u00e9", "\u0300", "\u0499", "\u00a0", "\u4e2d"}) {
        CAPTURE(character);
        auto main = dir.write("vigil.toml", one_instance + "priority = 100 " + character + "\n");
        auto result = load_configuration(main);
        REQUIRE(result.diagnostics.size() == 1);
        CHECK(result.diagnostics[0].kind == rule::toml_syntax);
        CHECK(to_string(result.diagnostics[0].where) == main + ":6:16");
        CHECK(result.diagnostics[0].message.find(" outside a string or comment") !=
              std::string::npos);
    }
}

TEST_CASE("non-ASCII text in strings and comments still loads") {
    scratch_dir dir;
    auto main = dir.write("vigil.toml", "# Légende: ça marche, 中文\n" + one_instance +
                                            "priority = 100 # é\n[global]\nnode = \"nœud-é\"\n");
    auto result = load_configuration(main);
    INFO(joined(result.diagnostics));
    REQUIRE(result.config);
    CHECK(result.config->global.node == "nœud-é");
}
