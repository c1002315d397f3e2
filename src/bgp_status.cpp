#include "bgp_status.hpp"

#include "status.hpp"

namespace vigil {

void write_bgp_status(json_writer& w, const bgp_status& status) {
    w.begin_object();
    w.member("bird_socket", status.bird_socket);
    w.member("include_file", status.include_file);
    w.member("liveness_interface", status.liveness_interface);
    w.member("liveness_up", status.liveness_up);
    w.member("bird_reachable", status.bird_reachable);
    w.member("bird_accepted", status.bird_accepted);
    w.member("last_error", status.last_error);
    w.member("node_mode", status.node_mode);
    w.member("hold_down_ms", status.hold_down_ms);
    w.key("announcements");
    w.begin_array();
    for (const auto& a : status.announcements) {
        w.begin_object();
        w.member("prefix", a.prefix);
        w.member("protocol", a.protocol);
        w.key("virtual_servers");
        w.begin_array();
        for (const auto& name : a.virtual_servers) {
            w.value(name);
        }
        w.end_array();
        w.member("state", a.state);
        w.member("reason", a.reason);
        w.member("med", static_cast<std::uint64_t>(a.med));
        w.member("since", format_utc(a.since));
        if (a.hold_down_left_ms) {
            w.member("hold_down_left_ms", *a.hold_down_left_ms);
        }
        if (a.bird_state) {
            w.member("bird_state", *a.bird_state);
        }
        w.end_object();
    }
    w.end_array();
    w.key("bird_protocols");
    w.begin_array();
    for (const auto& p : status.bird_protocols) {
        w.begin_object();
        w.member("name", p.name);
        w.member("protocol", p.protocol);
        w.member("table", p.table);
        w.member("state", p.state);
        w.member("since", p.since);
        w.member("info", p.info);
        w.end_object();
    }
    w.end_array();
    if (status.bird_protocols_at) {
        w.member("bird_protocols_at", format_utc(*status.bird_protocols_at));
    }
    w.end_object();
}

}  // namespace vigil
