#include "vrrp/notify_queue.hpp"

namespace vigil::vrrp {

using vigil::to_string;

notify_queue::notify_queue(std::string instance, notify_spec spec, child_process_runner& runner,
                           event_log& log)
    : instance_(std::move(instance)), spec_(std::move(spec)), runner_(runner), log_(log) {}

notify_queue::~notify_queue() {
    *alive_ = false;
}

void notify_queue::on_transition(const transition& t, std::uint8_t priority_value,
                                 const std::optional<ip_address>& master) {
    const std::vector<std::string>* program = nullptr;
    const char* state_name = nullptr;
    switch (t.to) {
        case state::master:
            state_name = "MASTER";
            program = &spec_.master;
            break;
        case state::backup:
            state_name = "BACKUP";
            program = &spec_.backup;
            break;
        case state::fault:
            state_name = "FAULT";
            program = &spec_.fault;
            break;
        case state::initialize:
            state_name = "STOP";
            program = &spec_.stop;
            break;
    }
    auto priority = std::to_string(priority_value);
    std::vector<std::pair<std::string, std::string>> environment{
        {"VIGIL_INSTANCE", instance_},
        {"VIGIL_STATE", state_name},
        {"VIGIL_FROM", std::string(to_string(t.from))},
        {"VIGIL_REASON", std::string(to_string(t.reason))},
        {"VIGIL_PRIORITY", priority},
        {"VIGIL_MASTER", master ? to_string(*master) : std::string()}};
    if (!spec_.any.empty()) {
        child_spec spec;
        spec.argv = spec_.any;
        // keepalived's generic notify arguments: type, name, state, priority.
        spec.argv.insert(spec.argv.end(), {"INSTANCE", instance_, state_name, priority});
        spec.environment = environment;
        spec.timeout = spec_.timeout;
        spec.run_as = spec_.user;
        queue_.push_back(std::move(spec));
    }
    if (!program->empty()) {
        child_spec spec;
        spec.argv = *program;
        spec.environment = environment;
        spec.timeout = spec_.timeout;
        spec.run_as = spec_.user;
        queue_.push_back(std::move(spec));
    }
    run_next();
}

void notify_queue::run_next() {
    if (running_ || queue_.empty()) {
        return;
    }
    auto spec = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    auto program = spec.argv.front();
    std::weak_ptr<bool> alive = alive_;
    runner_.start(std::move(spec), [this, alive, program](child_result result) {
        if (auto a = alive.lock(); !a || !*a) {
            return;
        }
        running_ = false;
        if (!result.succeeded()) {
            log_.warning("vrrp.notify_failed", {{"instance", instance_},
                                                {"program", program},
                                                {"result", describe(result)},
                                                {"output", result.output}});
        }
        run_next();
    });
}

}  // namespace vigil::vrrp
