#pragma once

#include <memory>
#include <optional>

#include "base/address.hpp"
#include "base/child_process.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/probe.hpp"

namespace vigil::checkers {

// The verdict of a finished script: exit 0 success, 1 failure; with dynamic weight exit 2-255 is
// success with weight exit-2 (keepalived's misc_dynamic), without it any other exit is a failure.
probe_result judge_script(const child_result& result, bool dynamic_weight);

// A script check through the shared child_process_runner: argv without a shell, the configured
// user, and a timeout that SIGKILLs the whole process group, so children a script forked die with
// it. The script learns what it checks from VIGIL_REAL_SERVER_ADDRESS and VIGIL_REAL_SERVER_PORT.
class script_probe final : public probe {
  public:
    // `options` must outlive the probe.
    script_probe(child_process_runner& runner, const ip_endpoint& target,
                 const script_spec& options, duration timeout);
    ~script_probe() override;

    void start(completion done) override;
    // The child keeps running until its own timeout (the same as the check's) kills its group; its
    // answer is then dropped.
    void cancel() override;

  private:
    struct token {
        bool cancelled = false;
    };
    child_process_runner& runner_;
    ip_endpoint target_;
    const script_spec& options_;
    duration timeout_;
    std::shared_ptr<token> current_;
};

}  // namespace vigil::checkers
