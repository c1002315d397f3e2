#include "status_document.hpp"

#include <boost/json/parse.hpp>

#include "base/json_writer.hpp"
#include "status.hpp"

namespace vigil {

namespace {

void write_real_servers(json_writer& w, const std::vector<checkers::real_server_status>& servers,
                        time_point mono_now, std::chrono::system_clock::time_point wall_now) {
    auto wall = [&](time_point t) {
        return format_utc(
            wall_now -
            std::chrono::duration_cast<std::chrono::system_clock::duration>(mono_now - t));
    };
    // The check's own fields; the server repeats those of its deciding check, so a reader of a
    // one-check server never needs the list.
    auto check_fields = [&](const checkers::check_status& c) {
        w.member("checked", c.checked);
        if (c.checked) {
            w.member("last_result", c.last.reason);
            w.member("last_success", c.last.success);
            w.member("latency_ms", static_cast<std::int64_t>(c.last.latency.count()));
            w.member("last_checked", wall(c.last_checked));
        }
        w.member("consecutive", c.consecutive);
        w.member("pending", c.pending);
    };
    auto state = [](checkers::health h) { return h == checkers::health::up ? "up" : "down"; };
    w.begin_array();
    for (const auto& r : servers) {
        const auto& deciding = r.deciding();
        w.begin_object();
        w.member("name", r.name);
        w.member("virtual_server", r.virtual_server);
        w.member("check", deciding.name);
        w.member("type", checkers::to_string(deciding.type));
        w.member("state", state(r.state));
        w.member("since", wall(r.since));
        w.member("weight", r.weight);
        check_fields(deciding);
        w.key("checks");
        w.begin_array();
        for (const auto& c : r.checks) {
            w.begin_object();
            w.member("name", c.name);
            w.member("type", checkers::to_string(c.type));
            w.member("state", state(c.state));
            w.member("since", wall(c.since));
            check_fields(c);
            w.end_object();
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
}

}  // namespace

std::string render_status(const status_snapshot& snapshot) {
    std::string text;
    // About 300 bytes per real server and 650 per IPVS destination: one allocation, not dozens.
    text.reserve(4096 + snapshot.real_servers.size() * 1024);
    json_writer w(text);
    w.begin_object();
    write_status_members(w, snapshot.daemon);
    w.key("real_servers");
    write_real_servers(w, snapshot.real_servers, snapshot.mono_now, snapshot.wall_now);
    w.key("drained");
    w.begin_array();
    for (const auto& name : snapshot.drained) {
        w.value(name);
    }
    w.end_array();
    if (snapshot.ipvs) {
        w.key("ipvs");
        ipvs::write_status_json(w, *snapshot.ipvs);
    }
    if (snapshot.bgp) {
        w.key("bgp");
        write_bgp_status(w, *snapshot.bgp);
    }
    w.end_object();
    return text;
}

boost::json::object status_json(const status_snapshot& snapshot) {
    return boost::json::parse(render_status(snapshot)).as_object();
}

}  // namespace vigil
