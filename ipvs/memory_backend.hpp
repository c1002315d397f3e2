#pragma once

#include <functional>
#include <set>
#include <string>

#include "ipvs/backend.hpp"

namespace vigil::ipvs {

// An IPVS table in memory that answers as the kernel's ip_vs_ctl.c does (Linux 6.1):
//   add service that exists -> EEXIST; edit/delete a missing service -> ESRCH;
//   unknown scheduler -> ENOENT; IPv6 netmask 0 or > 128 -> EINVAL;
//   add destination that exists -> EEXIST; edit/delete a missing one -> ENOENT;
//   lower threshold above upper threshold -> ERANGE (even with upper 0), weight > INT_MAX ->
//   ERANGE; a destination of another family than its service without tunnelling, or while a sync
//   daemon runs -> EINVAL; starting a sync daemon while such a destination exists -> EINVAL; start
//   a daemon of a role already running -> EEXIST; stop one not running -> ESRCH.
// The guest tests replay the same operation sequences against the kernel and compare, so these
// rules stay true. Tests may inject failures to exercise retries.
class memory_backend final : public backend {
  public:
    memory_backend();

    std::string_view name() const override { return "memory"; }
    boost::system::result<table> dump() override;
    std::vector<std::error_code> apply(std::span<const operation> ops) override;
    boost::system::result<std::vector<sync_daemon>> daemons() override;
    std::error_code start_daemon(const sync_daemon& daemon) override;
    std::error_code stop_daemon(sync_role role) override;

    // One operation alone, as the kernel would answer it.
    std::error_code apply_one(const operation& op);

    // Test hooks. A failure rule answers `error` instead of applying, for every operation it
    // matches, `times` times (or forever when times < 0).
    void fail_when(std::function<bool(const operation&)> match, std::errc error, int times = 1);
    void fail_next_dump(std::errc error) { dump_failure_ = error; }
    // Someone else changing the table (ipvsadm by hand): applied without ownership or failures.
    table& raw() { return table_; }
    std::size_t operations_applied() const { return applied_; }
    std::size_t dumps() const { return dumps_; }
    // How many apply() calls (netlink batches) were made, whatever they held.
    std::size_t apply_calls() const { return apply_calls_; }

  private:
    struct failure_rule {
        std::function<bool(const operation&)> match;
        std::errc error;
        int times;
    };
    table table_;
    std::vector<sync_daemon> daemons_;
    std::set<std::string, std::less<>> schedulers_;
    std::vector<failure_rule> failures_;
    std::optional<std::errc> dump_failure_;
    std::size_t applied_ = 0;
    std::size_t dumps_ = 0;
    std::size_t apply_calls_ = 0;
};

}  // namespace vigil::ipvs
