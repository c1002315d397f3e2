#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#pragma GCC diagnostic pop
#include <curl/curl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace vigil::checkers {

// libcurl's multi interface driven by Asio: curl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when to call back (CURLMOPT_TIMERFUNCTION); we hand each event to
// curl_multi_socket_action. Every transfer of the process shares the one multi handle and the
// event loop's thread: no thread per check, nothing blocks.
//
// Curl's sockets live in an epoll set of our own, level-triggered as curl expects (it may leave
// bytes unread and ask again); Asio watches only that epoll descriptor, plus one steady_timer.
// One readiness wake-up then serves every socket that is ready, and no per-socket Asio object or
// handler allocation is needed.
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
    std::size_t sockets() const { return sockets_.size(); }

    // Easy handles are recycled: a fresh one costs an allocation of several KB and curl's
    // defaults, a reset one only the latter.
    CURL* acquire_easy();
    void release_easy(CURL* easy);

  private:
    static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
    static int on_timer(CURLM* multi, long timeout_ms, void* self);
    void arm_timer(std::chrono::steady_clock::time_point at);
    void wait_for_sockets();
    void drain_sockets();
    void act(curl_socket_t fd, int events);
    void deliver_completions();

    boost::asio::any_io_executor executor_;
    CURLcode global_init_;
    CURLM* multi_;
    int epoll_fd_;
    boost::asio::posix::stream_descriptor epoll_watch_;
    bool waiting_ = false;
    boost::asio::steady_timer timer_;
    // When the armed timer fires; a later request is served by it early (harmless: curl re-arms).
    std::optional<std::chrono::steady_clock::time_point> timer_at_;
    // The deadline curl last asked for; empty when it asked for none.
    std::optional<std::chrono::steady_clock::time_point> curl_wants_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::unordered_map<curl_socket_t, int> sockets_;  // fd -> CURL_POLL_* wanted
    std::unordered_map<CURL*, completion> transfers_;
    std::vector<CURL*> spare_easy_;
};

}  // namespace vigil::checkers
