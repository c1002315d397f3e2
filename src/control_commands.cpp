#include "control_commands.hpp"

namespace vigil {

namespace {

boost::json::object error_reply(std::string message) {
    boost::json::object reply;
    reply["error"] = std::move(message);
    return reply;
}

boost::json::object answer_reload(control_target& target) {
    auto errors = target.reload();
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

boost::json::object answer_control_request(const boost::json::object& request,
                                           control_target& target) {
    const auto* command = request.if_contains("command");
    std::string_view name = command && command->is_string() ? command->as_string() : "";
    if (name == "status") {
        return target.status();
    }
    if (name == "reload") {
        return answer_reload(target);
    }
    if (name == "drain" || name == "undrain") {
        return answer_drain(request, target, name == "drain");
    }
    return error_reply("unknown command; known: status, reload, drain, undrain");
}

}  // namespace vigil
