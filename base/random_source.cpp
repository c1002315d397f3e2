#include "base/random_source.hpp"

namespace vigil {

random_source random_source::from_entropy() {
    std::random_device device;
    auto high = static_cast<std::uint64_t>(device());
    auto low = static_cast<std::uint64_t>(device());
    return random_source{(high << 32) ^ low};
}

std::uint64_t random_source::uniform(std::uint64_t bound) {
    if (bound == 0) {
        return 0;
    }
    return std::uniform_int_distribution<std::uint64_t>{0, bound}(engine_);
}

duration random_source::uniform(duration max) {
    if (max.count() <= 0) {
        return duration{0};
    }
    return duration{static_cast<duration::rep>(uniform(static_cast<std::uint64_t>(max.count())))};
}

}  // namespace vigil
