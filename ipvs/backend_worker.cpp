#include "ipvs/backend_worker.hpp"

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <string>

namespace vigil::ipvs {

backend_worker::backend_worker(backend& kernel, boost::asio::any_io_executor loop, threading mode)
    : kernel_(kernel), loop_(std::move(loop)), name_(kernel.name()) {
    if (mode == threading::own_thread) {
        thread_ = std::thread([this] { serve(); });
    }
}

backend_worker::~backend_worker() {
    *alive_ = false;
    if (thread_.joinable()) {
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }
}

void backend_worker::enqueue(std::function<void(backend&)> work, std::function<void()> done) {
    ++in_flight_;
    job next{std::move(work), std::move(done),
             boost::asio::prefer(loop_, boost::asio::execution::outstanding_work.tracked)};
    if (!thread_.joinable()) {
        run(next);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(next));
    }
    wake_.notify_one();
}

void backend_worker::run(job& next) {
    next.work(kernel_);
    // The completion holds the job's result; it runs on the loop, and only while the worker (and
    // so whoever submitted to it) still exists.
    boost::asio::post(next.loop, [this, alive = alive_, done = std::move(next.done)]() mutable {
        if (!*alive) {
            return;
        }
        --in_flight_;
        done();
    });
}

void backend_worker::serve() {
    for (;;) {
        job next;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;  // closing, and everything submitted has run
            }
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        run(next);
    }
}

std::string describe(const std::exception_ptr& thrown) {
    try {
        std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace vigil::ipvs
