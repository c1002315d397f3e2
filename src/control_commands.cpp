#include "control_commands.hpp"

namespace vigil {

namespace {

boost::json::object error_reply(std::string message) {
    boost::json::object reply;
    reply["error"] = std::move(message);
    return reply;
}

boost::json::object reload_reply(const std::vector<std::string>& errors) {
    boost::json::object reply;
    reply["reloaded"] = errors.empty();
    boost::json::array list;
    for (const auto& e : errors) {
        list.emplace_back(e);
    }
    reply["errors"] = std::move(list);
    return reply;
}

boost::json::object answer_drain(const boost::json::object& request, control_target& target,
                                 bool drained) {
    const auto* name = request.if_contains("real_server");
    if (!name || !name->is_string()) {
        return error_reply("a drain names a real_server");
    }
    std::string real_server(name->as_string());
    auto outcome = target.drain(real_server, drained);
    if (!outcome.error.empty()) {
        return error_reply(std::move(outcome.error));
    }
    boost::json::object reply;
    reply["real_server"] = real_server;
    reply["drained"] = drained;
    reply["changed"] = outcome.changed;
    return reply;
}

// The socket admits only root and the daemon's own user, who can read whatever the daemon can:
// planning another file discloses nothing they could not read themselves. The path must be
// absolute, since the daemon's working folder is not the client's.
void answer_plan(const boost::json::object& request, control_target& target,
                 const std::function<void(boost::json::object)>& reply) {
    std::string file;
    if (const auto* given = request.if_contains("file")) {
        if (!given->is_string() || given->as_string().empty() || given->as_string()[0] != '/') {
            reply(error_reply("file is an absolute path"));
            return;
        }
        file = given->as_string();
    }
    target.plan(file, reply);
}

}  // namespace

void answer_control_request(const boost::json::object& request, control_target& target,
                            std::function<void(boost::json::object)> reply) {
    const auto* command = request.if_contains("command");
    std::string_view name = command && command->is_string() ? command->as_string() : "";
    if (name == "status") {
        reply(target.status());
    } else if (name == "reload") {
        const auto* allow_empty = request.if_contains("allow_empty");
        if (allow_empty && !allow_empty->is_bool()) {
            reply(error_reply("allow_empty is true or false"));
            return;
        }
        target.reload(allow_empty && allow_empty->as_bool(),
                      [reply](std::vector<std::string> errors) { reply(reload_reply(errors)); });
    } else if (name == "drain" || name == "undrain") {
        reply(answer_drain(request, target, name == "drain"));
    } else if (name == "drain_node" || name == "undrain_node") {
        auto outcome = target.drain_node(name == "drain_node");
        if (!outcome.error.empty()) {
            reply(error_reply(std::move(outcome.error)));
            return;
        }
        boost::json::object answer;
        answer["node_draining"] = name == "drain_node";
        answer["drain_wait_ms"] = outcome.drain_wait.count();
        reply(std::move(answer));
    } else if (name == "plan") {
        answer_plan(request, target, reply);
    } else {
        reply(
            error_reply("unknown command; known: status, reload, drain, undrain, plan, drain_node, "
                        "undrain_node"));
    }
}

}  // namespace vigil
