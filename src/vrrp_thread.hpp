#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/result.hpp>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/event_log.hpp"
#include "vrrp/address_effects.hpp"
#include "vrrp/instance_set.hpp"

namespace vigil {

// VRRP on a thread and an io_context of its own, so that nothing else the daemon does (checks,
// status and scrapes, reload commits, kernel dumps) can delay an advert: the loop saturated by
// checks no longer holds a timer back. The instance set lives on that thread and nothing else
// touches it. The boundary is message passing, one way each:
//   - the loop asks, and waits for the answer (start, prepare, commit, status): the VRRP thread
//     never waits for the loop, so a question is answered within one of its bounded turns;
//   - the VRRP thread tells, by posting to the loop: state changes and log records (the log's
//     sinks and alert hooks are the loop's; a record keeps the time it was emitted).
class vrrp_thread {
  public:
    // The thread starts here, scheduled as the constructing thread is: constructed before the
    // daemon's loop drops a real-time priority it was started with (chrt, systemd's
    // CPUSchedulingPolicy=), it keeps it, with no need for CAP_SYS_NICE.
    vrrp_thread(boost::asio::any_io_executor loop, event_log& log);
    ~vrrp_thread();
    vrrp_thread(const vrrp_thread&) = delete;
    vrrp_thread& operator=(const vrrp_thread&) = delete;

    // The instance set, made when the first instance is configured (at start or by a reload).
    // Fails when the route netlink socket that adds and removes VIPs cannot be opened.
    std::optional<std::string> open();
    bool opened() const { return opened_; }

    // The instance set's calls: start, prepare and commit are valid once open() succeeded;
    // before that, shutdown does nothing, nothing is notifying and the status is empty.
    std::optional<std::string> start(std::vector<vrrp::instance_spec> instances,
                                     std::vector<vrrp::sync_group_spec> groups);

    // vrrp::instance_set::prepared, kept on the VRRP thread: dropped uncommitted, it is released
    // there.
    class prepared {
      public:
        prepared(prepared&& other) noexcept = default;
        prepared& operator=(prepared&& other) noexcept;
        ~prepared();

      private:
        friend class vrrp_thread;
        prepared(vrrp_thread& owner, vrrp::instance_set::prepared change);
        void release();
        vrrp_thread* owner_;
        std::unique_ptr<vrrp::instance_set::prepared> change_;
    };
    boost::system::result<prepared, std::vector<std::string>> prepare(
        std::vector<vrrp::instance_spec> instances, std::vector<vrrp::sync_group_spec> groups);
    void commit(prepared change);
    void shutdown();
    bool notifying();
    std::vector<vrrp::instance_status> status();

    // Called on the loop, after the VRRP thread has acted on the state.
    void on_state_change(vrrp::instance_set::state_listener listener);

  private:
    struct log_mailbox;
    class forwarding_sink;

    // Runs `function` on the VRRP thread and returns what it returned (or throws what it threw).
    template <typename Function>
    std::invoke_result_t<Function&> call(Function function) {
        if (std::this_thread::get_id() == thread_.get_id()) {
            return function();
        }
        std::packaged_task<std::invoke_result_t<Function&>()> task(std::move(function));
        auto answer = task.get_future();
        boost::asio::post(context_, std::move(task));
        return answer.get();
    }

    boost::asio::any_io_executor loop_;
    std::shared_ptr<log_mailbox> mailbox_;
    event_log thread_log_;
    boost::asio::io_context context_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    // Used on the VRRP thread only, from open() to the destructor.
    std::unique_ptr<vrrp::netlink_effects> effects_;
    std::unique_ptr<vrrp::instance_set> set_;
    bool opened_ = false;  // set_ exists: written by the loop's open(), read by the loop
    std::shared_ptr<vrrp::instance_set::state_listener> listener_ =
        std::make_shared<vrrp::instance_set::state_listener>();
    std::thread thread_;
};

}  // namespace vigil
