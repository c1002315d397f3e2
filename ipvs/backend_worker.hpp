#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/result.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "ipvs/backend.hpp"

namespace vigil::ipvs {

// Where the kernel's IPVS calls run, so that none of them waits on the event loop that also times
// VRRP adverts: a dump of 10,000 destinations or a large apply takes hundreds of milliseconds.
//
// The boundary is one message each way. The loop submits a job (a function of the backend) with
// a completion; the job runs on the worker's own thread and its result is posted back to the
// loop's executor, where the completion runs. Jobs run one at a time in the order submitted, so
// operations submitted before a dump are answered before it, and their answers reach the loop
// before the dump's. The backend is touched by the worker's thread only, and the loop's state
// (the reconciler's desired table and kernel view) by the loop's thread only.
//
// `inline_calls` runs each job inside submit(), on the caller's thread, still posting the
// completion: unit tests stay deterministic on simulated time (run the io_context to deliver
// answers), and benchmarks measure what the loop would stall without the worker.
class backend_worker {
  public:
    enum class threading { own_thread, inline_calls };
    // What a job gave back: its value, or what it threw (the worker itself never throws).
    template <class T>
    using outcome = boost::system::result<T, std::exception_ptr>;

    backend_worker(backend& kernel, boost::asio::any_io_executor loop,
                   threading mode = threading::own_thread);
    // Runs every job already submitted (each backend call is bounded), then joins the thread: a
    // shutdown policy submitted last still reaches the kernel. No completion runs after this.
    ~backend_worker();
    backend_worker(const backend_worker&) = delete;
    backend_worker& operator=(const backend_worker&) = delete;

    std::string_view backend_name() const { return name_; }

    // `work(backend&)` runs on the worker; `done(outcome<R>)` later on the loop, never inside
    // submit(). Loop thread only.
    template <class Work, class Done>
    void submit(Work work, Done done) {
        using value = std::invoke_result_t<Work&, backend&>;
        auto result = std::make_shared<std::optional<outcome<value>>>();
        enqueue(
            [result, work = std::move(work)](backend& kernel) mutable {
                try {
                    result->emplace(work(kernel));
                } catch (...) {
                    result->emplace(std::current_exception());
                }
            },
            [result, done = std::move(done)]() mutable { done(std::move(**result)); });
    }

    // Jobs submitted whose completion has not run yet. Loop thread only.
    std::size_t in_flight() const { return in_flight_; }

  private:
    struct job {
        std::function<void(backend&)> work;
        std::function<void()> done;
        // The loop's executor, tracking outstanding work: while a job waits or runs, the loop
        // does not run out of work and return before its answer is posted.
        boost::asio::any_io_executor loop;
    };
    void enqueue(std::function<void(backend&)> work, std::function<void()> done);
    void run(job& next);
    void serve();

    backend& kernel_;
    boost::asio::any_io_executor loop_;
    std::string_view name_;
    // Cleared (on the loop's thread) when the worker goes: completions already posted check it.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::size_t in_flight_ = 0;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<job> queue_;  // guarded by mutex_
    bool closing_ = false;   // guarded by mutex_
    std::thread thread_;     // not started for inline_calls
};

// What a job threw, for a log line.
std::string describe(const std::exception_ptr& thrown);

}  // namespace vigil::ipvs
