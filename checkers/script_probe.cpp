#include "checkers/script_probe.hpp"

namespace vigil::checkers {

probe_result judge_script(const child_result& result, bool dynamic_weight) {
    probe_result out;
    switch (result.how) {
        case child_result::outcome::exited:
            if (result.exit_code == 0) {
                out = probe_result::ok();
            } else if (dynamic_weight && result.exit_code >= 2 && result.exit_code <= 255) {
                out = probe_result::ok(static_cast<unsigned>(result.exit_code - 2));
                out.reason = "script exit " + std::to_string(result.exit_code);
            } else {
                out = probe_result::fail("script exit " + std::to_string(result.exit_code));
            }
            break;
        case child_result::outcome::timed_out:
            out = probe_result::fail("timeout");
            break;
        case child_result::outcome::signaled:
            out = probe_result::fail("script killed by signal " + std::to_string(result.signal));
            break;
        case child_result::outcome::spawn_failed:
            out = probe_result::fail("script did not start: " + result.error);
            break;
    }
    out.latency = result.elapsed;
    return out;
}

script_probe::script_probe(child_process_runner& runner, const ip_endpoint& target,
                           const script_spec& options, duration timeout)
    : runner_(runner), target_(target), options_(options), timeout_(timeout) {}

script_probe::~script_probe() {
    cancel();
}

void script_probe::cancel() {
    if (current_) {
        current_->cancelled = true;
        current_.reset();
    }
}

void script_probe::start(completion done) {
    cancel();
    auto t = std::make_shared<token>();
    current_ = t;
    child_spec spec;
    spec.argv = options_.argv;
    spec.run_as = options_.user;
    spec.timeout = timeout_;
    spec.environment = {{"VIGIL_REAL_SERVER_ADDRESS", target_.address.to_string()},
                        {"VIGIL_REAL_SERVER_PORT", std::to_string(target_.port)}};
    bool dynamic = options_.dynamic_weight;
    runner_.start(std::move(spec), [this, t, dynamic, done = std::move(done)](child_result r) {
        if (t->cancelled) {
            return;
        }
        current_.reset();
        done(judge_script(r, dynamic));
    });
}

}  // namespace vigil::checkers
