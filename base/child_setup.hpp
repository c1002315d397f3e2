#pragma once

#include <cstdint>
#include <string>

#include "base/child_plan.hpp"

namespace vigil {

// What the child was doing when its setup failed. It sends this with errno through the report
// pipe, so the message is composed in the parent, where formatting is allowed.
enum class setup_step : std::int32_t {
    redirect_stdio,
    process_group,
    working_directory,
    supplementary_groups,
    group,
    user,
    exec,
};

struct failure_report {
    std::int32_t step;
    std::int32_t error;
};

// The child side of a spawn, from fork() to exec(): async-signal-safe calls only. It makes its
// own process group, resets signal dispositions, points stdin at /dev/null and stdout and stderr
// at `output_fd`, closes every other descriptor, changes to "/", switches user when the plan says
// so and executes. On any failure it writes a failure_report to `report_fd` (close-on-exec, so
// EOF on it tells the parent exec succeeded) and exits 127.
[[noreturn]] void set_up_and_exec(const child_plan& plan, int output_fd, int report_fd) noexcept;

// The parent's reading of a report: "cannot execute /x: No such file or directory".
std::string describe_failure(const failure_report& report, const std::string& program,
                             const std::string& user);

}  // namespace vigil
