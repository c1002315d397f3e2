#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "base/address.hpp"
#include "base/child_process.hpp"
#include "base/event_log.hpp"
#include "vrrp/election.hpp"
#include "vrrp/notify_spec.hpp"

namespace vigil::vrrp {

// The notify programs of one instance, run one at a time in transition order: a notify that sets
// up routes for MASTER must not race the one for the BACKUP that follows it.
class notify_queue {
  public:
    notify_queue(std::string instance, notify_spec spec, child_process_runner& runner,
                 event_log& log);
    ~notify_queue();
    notify_queue(const notify_queue&) = delete;
    notify_queue& operator=(const notify_queue&) = delete;

    void set_spec(notify_spec spec) { spec_ = std::move(spec); }
    // Queues the programs for entering `t.to`; `priority` and `master` are passed to them.
    void on_transition(const transition& t, std::uint8_t priority,
                       const std::optional<ip_address>& master);
    bool busy() const { return running_ || !queue_.empty(); }

  private:
    void run_next();

    std::string instance_;
    notify_spec spec_;
    child_process_runner& runner_;
    event_log& log_;
    std::deque<child_spec> queue_;
    bool running_ = false;
    // Completions of programs still running when the queue goes away see it is gone.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vigil::vrrp
