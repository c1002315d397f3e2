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
    } else {
        reply(error_reply("unknown command; known: status, reload, drain, undrain"));
    }
}

}  // namespace vigil
