#include "status.hpp"

#include <doctest/doctest.h>

using namespace vigil;
using namespace std::chrono_literals;

TEST_CASE("uptime reads as days, hours, minutes and seconds") {
    CHECK(format_uptime(0s) == "0s");
    CHECK(format_uptime(59s) == "59s");
    CHECK(format_uptime(61s) == "1m1s");
    CHECK(format_uptime(3600s) == "1h0m0s");
    CHECK(format_uptime(90061s) == "1d1h1m1s");
}

TEST_CASE("the text status is rendered from the JSON document") {
    daemon_status status;
    status.version = "1.2.3";
    status.node = "lb1";
    status.pid = 42;
    status.uptime = 75s;
    status.config_file = "/etc/vigil/vigil.toml";
    status.vrrp_instances = 1;
    status.virtual_servers = 2;
    status.real_servers = 5;
    status.reloads_applied = 3;
    status.reloads_rejected = 1;
    status.last_rejection = "x.toml:1:1: error: bad";
    auto json = to_json(status);
    CHECK(json.at("daemon").at("pid").as_int64() == 42);
    CHECK(json.at("config").at("real_servers").as_uint64() == 5);
    auto text = render_status_text(json);
    CHECK(text.find("vigil 1.2.3 on lb1, pid 42, up 1m15s") != std::string::npos);
    CHECK(text.find("1 VRRP instance, 2 virtual servers, 5 real servers") != std::string::npos);
    CHECK(text.find("3 applied, 1 rejected") != std::string::npos);
    CHECK(text.find("last rejected: x.toml:1:1: error: bad") != std::string::npos);
}
