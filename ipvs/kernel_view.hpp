#pragma once

#include <cstddef>
#include <optional>

#include "base/clock.hpp"
#include "ipvs/model.hpp"
#include "ipvs/operation.hpp"

namespace vigil::ipvs {

// What vigil believes the kernel's table holds without asking it: the last dump, plus every
// operation the kernel acknowledged since. Incremental changes are diffed against it, so a health
// change costs one operation and no dump; the periodic resync replaces it with a fresh dump, which
// is how changes made behind vigil's back are found.
class kernel_view {
  public:
    // A dump just read at `at`.
    void replace(table dumped, time_point at);
    // An operation the kernel answered 0 for: the table now holds its effect.
    void acknowledge(const operation& op);

    // False until the first dump: nothing can be diffed against it yet.
    bool known() const { return dumped_at_.has_value(); }
    const ipvs::table& table() const { return table_; }
    std::optional<time_point> dumped_at() const { return dumped_at_; }
    // Operations acknowledged since the last dump.
    std::size_t acknowledged() const { return acknowledged_; }

  private:
    ipvs::table table_;
    std::optional<time_point> dumped_at_;
    std::size_t acknowledged_ = 0;
};

}  // namespace vigil::ipvs
