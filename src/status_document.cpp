#include "status_document.hpp"

#include <boost/json/serialize.hpp>

#include "status.hpp"

namespace vigil {

boost::json::array real_servers_json(const std::vector<checkers::real_server_status>& servers,
                                     time_point mono_now,
                                     std::chrono::system_clock::time_point wall_now) {
    auto wall = [&](time_point t) {
        return format_utc(
            wall_now -
            std::chrono::duration_cast<std::chrono::system_clock::duration>(mono_now - t));
    };
    boost::json::array out;
    out.reserve(servers.size());
    for (const auto& r : servers) {
        boost::json::object o;
        o["name"] = r.name;
        o["virtual_server"] = r.virtual_server;
        o["check"] = checkers::to_string(r.check);
        o["state"] = r.state == checkers::health::up ? "up" : "down";
        o["since"] = wall(r.since);
        o["weight"] = r.weight;
        o["checked"] = r.checked;
        if (r.checked) {
            o["last_result"] = r.last.reason;
            o["last_success"] = r.last.success;
            o["latency_ms"] = r.last.latency.count();
            o["last_checked"] = wall(r.last_checked);
        }
        o["consecutive"] = r.consecutive;
        o["pending"] = r.pending;
        out.push_back(std::move(o));
    }
    return out;
}

boost::json::object status_json(const status_snapshot& snapshot) {
    auto document = to_json(snapshot.daemon);
    document["real_servers"] =
        real_servers_json(snapshot.real_servers, snapshot.mono_now, snapshot.wall_now);
    boost::json::array drained;
    for (const auto& name : snapshot.drained) {
        drained.emplace_back(name);
    }
    document["drained"] = std::move(drained);
    if (snapshot.ipvs) {
        document["ipvs"] = ipvs::status_json(*snapshot.ipvs);
    }
    return document;
}

std::string render_status(const status_snapshot& snapshot) {
    return boost::json::serialize(status_json(snapshot));
}

}  // namespace vigil
