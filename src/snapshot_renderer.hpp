#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vigil {

// A rendered document, shared by every client it answers (a status is megabytes at 10,000 real
// servers: it is neither copied per client nor freed on the loop while another holds it).
using rendered_text = std::shared_ptr<const std::string>;

// Answers requests for a large document without holding up the loop that times VRRP adverts:
// on the loop the state is only copied (`take`, a few ms at 10,000 real servers); the text is
// rendered on a worker thread (`render`, ten times that) and handed back on the loop. One render
// runs at a time; the requests that arrive meanwhile share the next one, whose copy is taken when
// it starts. So a flood of requests costs the loop one copy per render, the worker is never
// queued more than one render deep, and every answer is at least as new as its request.
//
// The worker must be joined before this object goes (the daemon declares it last); a render still
// queued for the loop then never runs.
template <class Snapshot>
class snapshot_renderer {
  public:
    using take_function = std::function<Snapshot()>;
    using render_function = std::function<std::string(const Snapshot&)>;
    using done_function = std::function<void(rendered_text)>;

    snapshot_renderer(boost::asio::any_io_executor loop, boost::asio::thread_pool& worker,
                      take_function take, render_function render)
        : loop_(std::move(loop)),
          worker_(worker),
          take_(std::move(take)),
          render_(std::move(render)) {}
    snapshot_renderer(const snapshot_renderer&) = delete;
    snapshot_renderer& operator=(const snapshot_renderer&) = delete;

    // On the loop: `done` is called on a later loop turn with the text.
    void request(done_function done) {
        waiting_.push_back(std::move(done));
        if (!rendering_) {
            start();
        }
    }

    // Renders taken so far (for tests and benchmarks: how many requests shared one).
    std::uint64_t renders() const { return renders_; }

  private:
    void start() {
        if (waiting_.empty()) {
            rendering_ = false;
            return;
        }
        rendering_ = true;
        ++renders_;
        auto batch = std::make_shared<std::vector<done_function>>(std::move(waiting_));
        waiting_.clear();
        boost::asio::post(worker_, [this, snapshot = take_(), batch]() mutable {
            auto text = std::make_shared<const std::string>(render_(snapshot));
            snapshot = Snapshot{};  // its thousands of nodes are freed here, not on the loop
            boost::asio::post(loop_, [this, text = std::move(text), batch = std::move(batch)] {
                for (auto& done : *batch) {
                    done(text);
                }
                start();
            });
        });
    }

    boost::asio::any_io_executor loop_;
    boost::asio::thread_pool& worker_;
    take_function take_;
    render_function render_;
    std::vector<done_function> waiting_;
    bool rendering_ = false;
    std::uint64_t renders_ = 0;
};

}  // namespace vigil
