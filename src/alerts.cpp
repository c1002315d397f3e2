#include "alerts.hpp"

#include <curl/curl.h>

#include <boost/asio/post.hpp>

#include "checkers/curl_multi.hpp"

namespace vigil {

namespace {

// Per hook; beyond this the oldest undelivered events are dropped.
constexpr std::size_t max_queued = 1000;

}  // namespace

bool alert_matches(const alert_hook& hook, std::string_view event) {
    // A hook's own failures must never feed it again.
    if (event.starts_with("alert.")) {
        return false;
    }
    for (const auto& pattern : hook.events) {
        if (pattern == "*" || pattern == event) {
            return true;
        }
        if (pattern.ends_with(".*") &&
            event.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1))) {
            return true;
        }
    }
    return false;
}

struct alert_dispatcher::queue {
    queue(alert_hook h, boost::asio::any_io_executor executor)
        : hook(std::move(h)), retry_timer(std::move(executor)) {}
    ~queue() { *alive = false; }
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;
    alert_hook hook;
    // Callbacks hold this weakly: a reload may drop the hook while a delivery is under way.
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    std::deque<std::pair<std::string, std::string>> pending;  // event name, JSON
    bool delivering = false;
    unsigned attempts = 0;
    std::uint64_t dropped = 0;
    boost::asio::steady_timer retry_timer;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::string body;
};

alert_dispatcher::alert_dispatcher(boost::asio::any_io_executor executor, event_log& log)
    : executor_(executor),
      log_(log),
      runner_(executor),
      curl_(std::make_unique<checkers::curl_multi>(executor)) {}

alert_dispatcher::~alert_dispatcher() {
    for (auto& q : queues_) {
        if (q->easy) {
            curl_->remove(q->easy);
            curl_easy_cleanup(q->easy);
        }
        curl_slist_free_all(q->headers);
    }
}

void alert_dispatcher::set_hooks(std::vector<alert_hook> hooks) {
    // Unchanged hooks keep their queues; others start empty.
    std::vector<std::unique_ptr<queue>> next;
    for (auto& hook : hooks) {
        auto same = std::find_if(queues_.begin(), queues_.end(),
                                 [&](const auto& q) { return q && q->hook == hook; });
        if (same != queues_.end()) {
            next.push_back(std::move(*same));
        } else {
            next.push_back(std::make_unique<queue>(std::move(hook), executor_));
        }
    }
    for (auto& old : queues_) {
        if (old && old->easy) {
            curl_->remove(old->easy);
            curl_easy_cleanup(old->easy);
            old->easy = nullptr;
        }
    }
    queues_ = std::move(next);
}

void alert_dispatcher::offer(const log_record& record) {
    std::string json;
    for (auto& q : queues_) {
        if (!alert_matches(q->hook, record.event)) {
            continue;
        }
        if (json.empty()) {
            json = format_json(record);
        }
        if (q->pending.size() >= max_queued) {
            q->pending.pop_front();
            ++q->dropped;
        }
        q->pending.emplace_back(std::string(record.event), json);
        if (!q->delivering) {
            q->delivering = true;
            // Posted: offer() runs inside whatever code logged the event.
            std::weak_ptr<bool> alive = q->alive;
            auto* target = q.get();
            boost::asio::post(executor_, [this, alive, target] {
                if (alive.lock() && *alive.lock()) {
                    deliver_next(*target);
                }
            });
        }
    }
}

void alert_dispatcher::deliver_next(queue& q) {
    if (q.pending.empty()) {
        q.delivering = false;
        return;
    }
    q.delivering = true;
    q.attempts = 0;
    attempt(q);
}

void alert_dispatcher::attempt(queue& q) {
    ++q.attempts;
    const auto& [event, json] = q.pending.front();
    std::weak_ptr<bool> alive = q.alive;
    auto* target = &q;
    if (!q.hook.command.empty()) {
        child_spec spec;
        spec.argv = q.hook.command;
        spec.argv.push_back(event);
        spec.environment = {{"VIGIL_EVENT", json}, {"VIGIL_EVENT_NAME", event}};
        spec.timeout = q.hook.timeout;
        spec.run_as = q.hook.user;
        runner_.start(std::move(spec), [this, alive, target](child_result result) {
            if (alive.lock() && *alive.lock()) {
                finish(*target, result.succeeded(), describe(result));
            }
        });
        return;
    }
    if (!q.easy) {
        q.easy = curl_easy_init();
        q.headers = curl_slist_append(nullptr, "Content-Type: application/json");
    }
    q.body = json;
    curl_easy_reset(q.easy);
    curl_easy_setopt(q.easy, CURLOPT_URL, q.hook.url.c_str());
    curl_easy_setopt(q.easy, CURLOPT_HTTPHEADER, q.headers);
    curl_easy_setopt(q.easy, CURLOPT_POSTFIELDS, q.body.c_str());
    curl_easy_setopt(q.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(q.body.size()));
    curl_easy_setopt(q.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(q.hook.timeout.count()));
    curl_easy_setopt(q.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        q.easy, CURLOPT_WRITEFUNCTION,
        +[](char*, size_t size, size_t count, void*) { return size * count; });
    bool added = curl_->add(q.easy, [this, alive, target](CURL* easy, CURLcode code) {
        if (!alive.lock() || !*alive.lock()) {
            return;
        }
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        bool ok = code == CURLE_OK && status >= 200 && status < 300;
        finish(*target, ok,
               code != CURLE_OK ? curl_easy_strerror(code) : "status " + std::to_string(status));
    });
    if (!added) {
        finish(q, false, "libcurl refused the transfer");
    }
}

void alert_dispatcher::finish(queue& q, bool ok, const std::string& why) {
    auto event = q.pending.front().first;
    if (!ok && q.attempts <= q.hook.retries) {
        // Back off 1 s, 2 s, 4 s, ...: a receiver that is down gets time to come back.
        q.retry_timer.expires_after(std::chrono::seconds(1L << std::min(q.attempts - 1, 6u)));
        std::weak_ptr<bool> alive = q.alive;
        auto* target = &q;
        q.retry_timer.async_wait([this, alive, target](const boost::system::error_code& ec) {
            if (!ec && alive.lock() && *alive.lock()) {
                attempt(*target);
            }
        });
        return;
    }
    if (!ok) {
        log_.warning("alert.failed",
                     {{"alert_event", event},
                      {"target", q.hook.url.empty() ? q.hook.command.front() : q.hook.url},
                      {"attempts", q.attempts},
                      {"error", why}});
    }
    if (q.dropped > 0) {
        log_.warning("alert.dropped",
                     {{"target", q.hook.url.empty() ? q.hook.command.front() : q.hook.url},
                      {"count", q.dropped}});
        q.dropped = 0;
    }
    q.pending.pop_front();
    deliver_next(q);
}

namespace {

class alerting_sink final : public log_sink {
  public:
    alerting_sink(std::unique_ptr<log_sink> inner, alert_dispatcher& alerts)
        : inner_(std::move(inner)), alerts_(alerts) {}
    void write(const log_record& record) override {
        inner_->write(record);
        alerts_.offer(record);
    }

  private:
    std::unique_ptr<log_sink> inner_;
    alert_dispatcher& alerts_;
};

}  // namespace

std::unique_ptr<log_sink> make_alerting_sink(std::unique_ptr<log_sink> inner,
                                             alert_dispatcher& alerts) {
    return std::make_unique<alerting_sink>(std::move(inner), alerts);
}

}  // namespace vigil
