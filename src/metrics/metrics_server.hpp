#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/address.hpp"
#include "base/event_log.hpp"
#include "snapshot_renderer.hpp"

namespace vigil::metrics {

// The optional HTTP listener for Prometheus (`[global.metrics] listen`): GET /metrics answers the
// text exposition, GET /healthz "ok"; anything else 404 (405 for other methods). It runs on the
// event loop and never blocks it: every read and write is asynchronous, a request is at most
// max_request_bytes of headers and no body, each request must be read and answered within
// exchange_deadline (an idle keep-alive connection is closed after it too), and at most
// max_connections are served at once (more are closed as soon as they are accepted). A scrape's
// body is asked of the builder, which answers on a later loop turn (the daemon writes it on a
// worker thread), and then written for as long as the deadline allows.
class metrics_server {
  public:
    // Calls `ready` exactly once, on the loop, with the body of one scrape.
    using body_ready = std::function<void(rendered_text body)>;
    using body_builder = std::function<void(body_ready ready)>;

    static constexpr std::size_t max_connections = 16;
    static constexpr std::size_t max_request_bytes = 8 * 1024;
    static constexpr std::chrono::seconds exchange_deadline{10};

    metrics_server(boost::asio::any_io_executor executor, event_log& log, body_builder build);
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    // Listens on `endpoint`, or stops listening when it is empty. Listening on the endpoint
    // already in use is a no-op; on failure (address in use, ...) says why and keeps the
    // listener it had. Connections being served finish on their own.
    std::optional<std::string> listen(const std::optional<ip_endpoint>& endpoint);
    void close();
    const std::optional<ip_endpoint>& endpoint() const { return endpoint_; }
    // The port actually bound (the one asked for, or the kernel's choice for port 0).
    std::uint16_t port() const;

    struct shared_state;
    class connection;

  private:
    void accept();

    boost::asio::any_io_executor executor_;
    event_log& log_;
    std::shared_ptr<shared_state> shared_;
    std::optional<ip_endpoint> endpoint_;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
    boost::asio::steady_timer backoff_;
};

}  // namespace vigil::metrics
