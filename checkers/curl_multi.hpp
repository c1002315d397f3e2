#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <curl/curl.h>

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

namespace vigil::checkers {

// libcurl's multi interface driven by Asio: curl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when to call back (CURLMOPT_TIMERFUNCTION); Asio waits for
// readiness and one steady_timer, and we hand each event to curl_multi_socket_action. Every
// transfer of the process shares the one multi handle and the event loop's thread: no thread per
// check, nothing blocks.
//
// Must be destroyed before its io_context. Easy handles still running when it is destroyed are
// removed without their completion being called.
class curl_multi {
  public:
    // Called once per transfer, on the loop, after the easy handle was removed from the multi
    // handle; it may add or remove transfers, and it must not throw.
    using completion = std::function<void(CURL* easy, CURLcode result)>;

    explicit curl_multi(boost::asio::any_io_executor executor);
    ~curl_multi();
    curl_multi(const curl_multi&) = delete;
    curl_multi& operator=(const curl_multi&) = delete;

    // Starts a transfer. Returns false (and never calls `done`) if curl refuses the handle.
    bool add(CURL* easy, completion done);
    // Stops a transfer without calling its completion; the caller keeps the easy handle.
    void remove(CURL* easy);

    const boost::asio::any_io_executor& executor() const { return executor_; }
    std::size_t transfers() const { return transfers_.size(); }
    std::size_t sockets() const { return sockets_.size(); }

    // Easy handles are recycled: a fresh one costs an allocation of several KB and curl's
    // defaults, a reset one only the latter.
    CURL* acquire_easy();
    void release_easy(CURL* easy);

  private:
    struct watched_socket;

    static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
    static int on_timer(CURLM* multi, long timeout_ms, void* self);
    void arm(const std::shared_ptr<watched_socket>& s, int direction);
    void act(curl_socket_t fd, int events);
    void deliver_completions();

    boost::asio::any_io_executor executor_;
    CURLM* multi_;
    boost::asio::steady_timer timer_;
    std::unordered_map<curl_socket_t, std::shared_ptr<watched_socket>> sockets_;
    std::unordered_map<CURL*, completion> transfers_;
    std::vector<CURL*> spare_easy_;
};

}  // namespace vigil::checkers
