#pragma once

#include <chrono>
#include <optional>

#include "ipvs/backend.hpp"

namespace vigil::ipvs::bench {

// Passes everything to another backend and counts what went through: the benchmarks' way to see
// how many operations and dumps a change cost, and when its first operation was handed over.
class counting_backend final : public backend {
  public:
    explicit counting_backend(backend& inner) : inner_(inner) {}

    std::string_view name() const override { return inner_.name(); }
    boost::system::result<table> dump() override {
        ++dumps;
        return inner_.dump();
    }
    std::vector<std::error_code> apply(std::span<const operation> ops) override {
        if (!first_apply_at) {
            first_apply_at = std::chrono::steady_clock::now();
        }
        ++apply_calls;
        operations += ops.size();
        return inner_.apply(ops);
    }
    boost::system::result<std::vector<sync_daemon>> daemons() override { return inner_.daemons(); }
    std::error_code start_daemon(const sync_daemon& daemon) override {
        return inner_.start_daemon(daemon);
    }
    std::error_code stop_daemon(sync_role role) override { return inner_.stop_daemon(role); }

    // Starts counting afresh.
    void reset() {
        dumps = apply_calls = operations = 0;
        first_apply_at.reset();
    }

    std::size_t dumps = 0;
    std::size_t apply_calls = 0;
    std::size_t operations = 0;
    std::optional<std::chrono::steady_clock::time_point> first_apply_at;

  private:
    backend& inner_;
};

}  // namespace vigil::ipvs::bench
