#pragma once

#include <cstdint>
#include <random>

#include "base/duration.hpp"

namespace vigil {

// The random-source seam: jitter for check start times and VRRP timers. Production seeds it from
// the operating system; tests seed it with a constant so schedules are reproducible.
class random_source {
  public:
    explicit random_source(std::uint64_t seed) : engine_(seed) {}
    static random_source from_entropy();

    // Uniform in [0, bound]; bound 0 gives 0.
    std::uint64_t uniform(std::uint64_t bound);
    // Uniform in [0, max].
    duration uniform(duration max);

  private:
    std::mt19937_64 engine_;
};

}  // namespace vigil
