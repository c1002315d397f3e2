#include "checkers/curl_multi.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/post.hpp>
#pragma GCC diagnostic pop
#include <array>
#include <new>
#include <system_error>

namespace vigil::checkers {

namespace asio = boost::asio;

namespace {

// Curl's setopt functions are C varargs macros; this keeps the argument types explicit.
template <class T>
void multi_set(CURLM* multi, CURLMoption option, T value) {
    curl_multi_setopt(multi, option, value);
}

// Enough for the transfers that run at once at 10,000 checks a second; each spare holds its easy
// handle and curl's 16 KiB receive buffer.
constexpr std::size_t max_spare_easy = 32;

std::uint32_t epoll_events(int what) {
    std::uint32_t events = 0;
    if (what & CURL_POLL_IN) {
        events |= EPOLLIN;
    }
    if (what & CURL_POLL_OUT) {
        events |= EPOLLOUT;
    }
    return events;
}

int make_epoll() {
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_create1");
    }
    return fd;
}

}  // namespace

curl_multi::curl_multi(asio::any_io_executor executor)
    : executor_(executor),
      // Reference-counted by curl; explicit so that it never happens lazily inside a transfer.
      global_init_(curl_global_init(CURL_GLOBAL_DEFAULT)),
      multi_(curl_multi_init()),
      epoll_fd_(make_epoll()),
      epoll_watch_(executor, epoll_fd_),
      timer_(executor) {
    if (multi_ == nullptr) {
        throw std::bad_alloc();
    }
    multi_set(multi_, CURLMOPT_SOCKETFUNCTION, &curl_multi::on_socket);
    multi_set(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
    multi_set(multi_, CURLMOPT_TIMERFUNCTION, &curl_multi::on_timer);
    multi_set(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
}

curl_multi::~curl_multi() {
    *alive_ = false;
    for (auto& [easy, done] : transfers_) {
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
    }
    transfers_.clear();
    curl_multi_cleanup(multi_);
    for (auto* easy : spare_easy_) {
        curl_easy_cleanup(easy);
    }
    // epoll_watch_ closes the epoll descriptor.
    if (global_init_ == CURLE_OK) {
        curl_global_cleanup();
    }
}

CURL* curl_multi::acquire_easy() {
    if (!spare_easy_.empty()) {
        auto* easy = spare_easy_.back();
        spare_easy_.pop_back();
        return easy;
    }
    return curl_easy_init();
}

void curl_multi::release_easy(CURL* easy) {
    if (spare_easy_.size() < max_spare_easy) {
        curl_easy_reset(easy);
        spare_easy_.push_back(easy);
    } else {
        curl_easy_cleanup(easy);
    }
}

bool curl_multi::add(CURL* easy, completion done) {
    auto [it, inserted] = transfers_.emplace(easy, std::move(done));
    if (!inserted) {
        return false;
    }
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
        transfers_.erase(it);
        return false;
    }
    return true;
}

void curl_multi::remove(CURL* easy) {
    if (transfers_.erase(easy) > 0) {
        curl_multi_remove_handle(multi_, easy);
    }
}

int curl_multi::on_socket(CURL*, curl_socket_t fd, int what, void* self_ptr, void*) {
    auto* self = static_cast<curl_multi*>(self_ptr);
    if (what == CURL_POLL_REMOVE) {
        // Curl closes the descriptor after this returns.
        if (self->sockets_.erase(fd) > 0) {
            ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        }
        return 0;
    }
    epoll_event ev{};
    ev.events = epoll_events(what);
    ev.data.fd = fd;
    auto [it, inserted] = self->sockets_.try_emplace(fd, what);
    if (!inserted && it->second == what) {
        return 0;
    }
    it->second = what;
    if (::epoll_ctl(self->epoll_fd_, inserted ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
        // A number curl reused after closing it without a REMOVE in between: start over.
        ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        if (::epoll_ctl(self->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
            self->sockets_.erase(fd);
            return -1;  // curl fails this transfer; the loop goes on
        }
    }
    self->wait_for_sockets();
    return 0;
}

void curl_multi::wait_for_sockets() {
    if (waiting_) {
        return;
    }
    waiting_ = true;
    // Asio watches the epoll descriptor edge-triggered; drain_sockets() reads it until empty, so
    // no readiness is left behind unseen.
    epoll_watch_.async_wait(asio::posix::descriptor_base::wait_read,
                            [this, alive = alive_](const boost::system::error_code& ec) {
                                if (!*alive || ec == asio::error::operation_aborted) {
                                    return;
                                }
                                waiting_ = false;
                                drain_sockets();
                            });
}

void curl_multi::drain_sockets() {
    std::array<epoll_event, 256> events;
    for (;;) {
        int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
        if (n <= 0) {
            break;
        }
        for (int i = 0; i < n; ++i) {
            int flags = 0;
            auto e = events[static_cast<std::size_t>(i)].events;
            if (e & (EPOLLIN | EPOLLHUP)) {
                flags |= CURL_CSELECT_IN;
            }
            if (e & EPOLLOUT) {
                flags |= CURL_CSELECT_OUT;
            }
            if (e & EPOLLERR) {
                flags |= CURL_CSELECT_ERR;
            }
            int running = 0;
            curl_multi_socket_action(multi_, events[static_cast<std::size_t>(i)].data.fd, flags,
                                     &running);
        }
        deliver_completions();
        if (static_cast<std::size_t>(n) < events.size()) {
            // What is still ready (curl left bytes unread) is reported by the next epoll_wait,
            // level-triggered; ask once more only when this round was full.
            int again = ::epoll_wait(epoll_fd_, events.data(), 0 + 1, 0);
            if (again <= 0) {
                break;
            }
            // Something is still ready: serve it on the next turn of the loop, so one busy socket
            // never starves the rest of the loop.
            asio::post(executor_, [this, alive = alive_] {
                if (*alive) {
                    drain_sockets();
                }
            });
            return;
        }
    }
    if (!sockets_.empty()) {
        wait_for_sockets();
    }
}

int curl_multi::on_timer(CURLM*, long timeout_ms, void* self_ptr) {
    auto* self = static_cast<curl_multi*>(self_ptr);
    if (timeout_ms < 0) {
        self->curl_wants_.reset();  // an armed timer may still fire: a spurious action is harmless
        return 0;
    }
    auto at = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    self->curl_wants_ = at;
    self->arm_timer(at);
    return 0;
}

void curl_multi::arm_timer(std::chrono::steady_clock::time_point at) {
    if (timer_at_ && *timer_at_ <= at) {
        return;  // the armed timer fires first, and then re-arms for what curl wants
    }
    // Curl must not be re-entered from its own callback, so even a zero timeout goes through the
    // loop. Re-arming only for earlier deadlines keeps timerfd updates to a minimum.
    timer_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (!*alive || ec == asio::error::operation_aborted) {
            return;
        }
        timer_at_.reset();
        if (curl_wants_ && *curl_wants_ <= std::chrono::steady_clock::now()) {
            curl_wants_.reset();  // this is the call curl asked for
        }
        act(CURL_SOCKET_TIMEOUT, 0);
        // Curl reports a timeout only when it changes. If this wake-up came early (for a
        // deadline curl has since moved), curl still counts on the later one.
        if (curl_wants_ && !timer_at_) {
            arm_timer(*curl_wants_);
        }
    });
}

void curl_multi::act(curl_socket_t fd, int events) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, events, &running);
    deliver_completions();
    if (!sockets_.empty()) {
        wait_for_sockets();
    }
}

void curl_multi::deliver_completions() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL* easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        auto it = transfers_.find(easy);
        curl_multi_remove_handle(multi_, easy);
        if (it == transfers_.end()) {
            continue;
        }
        auto done = std::move(it->second);
        transfers_.erase(it);
        try {
            done(easy, result);
        } catch (...) {
            // A completion must not throw; if one does, the loop and the other checks go on.
        }
    }
}

}  // namespace vigil::checkers
