#pragma once

#include <functional>

#include "checkers/probe_result.hpp"

namespace vigil::checkers {

// One check type's only job: run one probe and report how it went. Scheduling, timeouts, rise/fall
// and events belong to the engine (the shape of Envoy's health_checker_base_impl).
class probe {
  public:
    using completion = std::function<void(probe_result)>;

    virtual ~probe() = default;

    // Starts one run. `done` is called exactly once, later, on the event loop (never from inside
    // start()), unless cancel() or the destructor comes first; then it is never called. The
    // engine never starts a run while the previous one is going.
    virtual void start(completion done) = 0;
    // Abandons the current run (the engine's timeout); no-op when none is going.
    virtual void cancel() = 0;
};

}  // namespace vigil::checkers
