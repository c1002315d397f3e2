#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/child_process.hpp"
#include "base/duration.hpp"
#include "base/event_log.hpp"
#include "base/user_credentials.hpp"

namespace vigil {

namespace checkers {
class curl_multi;
}

// One alert hook: the events it wants and where they go.
struct alert_hook {
    std::vector<std::string> events;   // names, "prefix.*", or "*"
    std::vector<std::string> command;  // argv (event name appended, JSON in $VIGIL_EVENT), or
    std::string url;                   // a URL the event is POSTed to as JSON
    duration timeout = std::chrono::seconds(5);
    unsigned retries = 3;  // further attempts after a failed one, 1 s, 2 s, 4 s... apart
    // Who the command runs as, looked up beforehand (never per event); unset: vigil's own user.
    std::optional<user_lookup> user;
    friend bool operator==(const alert_hook&, const alert_hook&) = default;
};

bool alert_matches(const alert_hook& hook, std::string_view event);

// Delivers events to alert hooks without ever blocking the loop: programs through the
// child-process runner, POSTs through libcurl's multi interface. Each hook delivers in order, one
// at a time, retrying a failure; a hook that falls far behind drops its oldest events (counted).
// Its own failures are logged as alert.* events, which never trigger alerts themselves.
class alert_dispatcher {
  public:
    alert_dispatcher(boost::asio::any_io_executor executor, event_log& log);
    ~alert_dispatcher();
    alert_dispatcher(const alert_dispatcher&) = delete;
    alert_dispatcher& operator=(const alert_dispatcher&) = delete;

    void set_hooks(std::vector<alert_hook> hooks);
    // Called by the log sink for every record; formatted as JSON only when a hook wants it.
    void offer(const log_record& record);

    struct queue;

  private:
    void deliver_next(queue& q);
    void attempt(queue& q);
    void finish(queue& q, bool ok, const std::string& why);

    boost::asio::any_io_executor executor_;
    event_log& log_;
    child_process_runner runner_;
    std::unique_ptr<checkers::curl_multi> curl_;
    std::vector<std::unique_ptr<queue>> queues_;
};

// A log sink that writes to `inner` and offers every record to the dispatcher.
std::unique_ptr<log_sink> make_alerting_sink(std::unique_ptr<log_sink> inner,
                                             alert_dispatcher& alerts);

}  // namespace vigil
