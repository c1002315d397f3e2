#include "checkers/curl_multi.hpp"

#include <poll.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#pragma GCC diagnostic pop
#include <new>

namespace vigil::checkers {

namespace asio = boost::asio;

namespace {

// Curl's setopt functions are C varargs macros; these keep the casts in one place.
template <class T>
void multi_set(CURLM* multi, CURLMoption option, T value) {
    curl_multi_setopt(multi, option, value);
}

constexpr std::size_t max_spare_easy = 256;

}  // namespace

struct curl_multi::watched_socket {
    watched_socket(asio::any_io_executor ex, curl_socket_t f) : descriptor(std::move(ex)), fd(f) {
        descriptor.assign(f);
    }
    asio::posix::stream_descriptor descriptor;
    curl_socket_t fd;
    int wanted = 0;  // CURL_POLL_IN / OUT / INOUT
    bool reading = false;
    bool writing = false;
    bool alive = true;
};

curl_multi::curl_multi(asio::any_io_executor executor)
    : executor_(executor), multi_(curl_multi_init()), timer_(executor) {
    if (multi_ == nullptr) {
        throw std::bad_alloc();
    }
    multi_set(multi_, CURLMOPT_SOCKETFUNCTION, &curl_multi::on_socket);
    multi_set(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
    multi_set(multi_, CURLMOPT_TIMERFUNCTION, &curl_multi::on_timer);
    multi_set(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
}

curl_multi::~curl_multi() {
    for (auto& [easy, done] : transfers_) {
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
    }
    transfers_.clear();
    // Curl closes its own sockets; the descriptors only watch them.
    for (auto& [fd, s] : sockets_) {
        s->alive = false;
        s->descriptor.release();
    }
    sockets_.clear();
    curl_multi_cleanup(multi_);
    for (auto* easy : spare_easy_) {
        curl_easy_cleanup(easy);
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
    auto it = self->sockets_.find(fd);
    if (what == CURL_POLL_REMOVE) {
        if (it != self->sockets_.end()) {
            // Curl closes the descriptor after this returns: stop watching it without closing.
            it->second->alive = false;
            it->second->descriptor.release();
            self->sockets_.erase(it);
        }
        return 0;
    }
    if (it == self->sockets_.end()) {
        try {
            auto s = std::make_shared<watched_socket>(self->executor_, fd);
            it = self->sockets_.emplace(fd, std::move(s)).first;
        } catch (const std::exception&) {
            return -1;  // curl fails this transfer, the loop goes on
        }
    }
    auto s = it->second;
    s->wanted = what;
    if (what & CURL_POLL_IN) {
        self->arm(s, CURL_POLL_IN);
    }
    if (what & CURL_POLL_OUT) {
        self->arm(s, CURL_POLL_OUT);
    }
    return 0;
}

void curl_multi::arm(const std::shared_ptr<watched_socket>& s, int direction) {
    bool in = direction == CURL_POLL_IN;
    bool& pending = in ? s->reading : s->writing;
    if (pending) {
        return;
    }
    pending = true;
    // Asio registers descriptors edge-triggered, while curl expects level-triggered readiness: it
    // may leave bytes unread (one buffer per call) and ask again. An edge that passed while no wait
    // was queued would never come back, so look first; when already ready, act on the next turn
    // of the loop instead of waiting for an edge.
    pollfd p{s->fd, static_cast<short>(in ? POLLIN : POLLOUT), 0};
    bool ready = ::poll(&p, 1, 0) > 0;
    auto handler = [this, s, in](const boost::system::error_code& ec) {
        (in ? s->reading : s->writing) = false;
        if (!s->alive || ec == asio::error::operation_aborted) {
            return;
        }
        int events = in ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
        if (ec) {
            events |= CURL_CSELECT_ERR;
        }
        act(s->fd, events);
        if (s->alive && (s->wanted & (in ? CURL_POLL_IN : CURL_POLL_OUT))) {
            arm(s, in ? CURL_POLL_IN : CURL_POLL_OUT);
        }
    };
    if (ready) {
        asio::post(executor_, [handler] { handler(boost::system::error_code{}); });
    } else {
        s->descriptor.async_wait(
            in ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
            handler);
    }
}

int curl_multi::on_timer(CURLM*, long timeout_ms, void* self_ptr) {
    auto* self = static_cast<curl_multi*>(self_ptr);
    self->timer_.cancel();
    if (timeout_ms < 0) {
        return 0;
    }
    // Curl must not be re-entered from its own callback, so even a zero timeout goes through the
    // loop.
    self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer_.async_wait([self](const boost::system::error_code& ec) {
        if (!ec) {
            self->act(CURL_SOCKET_TIMEOUT, 0);
        }
    });
    return 0;
}

void curl_multi::act(curl_socket_t fd, int events) {
    int running = 0;
    curl_multi_socket_action(multi_, fd, events, &running);
    deliver_completions();
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
