// The server side of checkers_bench and checkers_vs_haproxy, in its own process so its CPU is not
// counted against the checker: listens on 0.0.0.0 (every 127.x.y.z address reaches it) and
// answers each request with one small HTTP/1.1 response. A TCP connect check is served by the
// same accept.
//
// It also counts what the checker did, the same way whichever tool checks: connections accepted,
// requests answered, and for each address checked the gap between two checks, so the lateness of
// a check (gap - interval) is measured at the server, not taken from the checker's word.
//
// Usage: checkers_bench_server [--keep-alive] [--interval-ms MS] [--per accept|request]
//                              [--threads T] [--tls CERT KEY]
// With --tls every connection is TLS (the server issues session tickets, so a checker may resume).
// More threads keep the server from being what limits a benchmark on a busy machine.
// Prints the port, then serves until stdin closes. Each line "stats" on stdin prints
//   connections=N requests=N gaps=N late_p50_ms=X late_p99_ms=X late_max_ms=X
// for the window since the previous "stats" (counters are totals, the lateness is per window),
// and with --tls "handshakes=N resumed=N" (totals).

#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <istream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view closing_reply =
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "\r\nOK\n";
constexpr std::string_view kept_reply =
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nOK\n";

struct check_counter {
    std::mutex mutex;  // with --threads, handlers of several connections run at once
    std::chrono::milliseconds interval{1000};
    std::uint64_t connections = 0;
    std::uint64_t requests = 0;
    std::uint64_t handshakes = 0;
    std::uint64_t resumed = 0;
    std::unordered_map<std::uint32_t, clock_type::time_point> last_by_address;
    std::vector<double> lateness_ms;

    void count_connection() {
        std::lock_guard lock(mutex);
        ++connections;
    }
    void count_request() {
        std::lock_guard lock(mutex);
        ++requests;
    }
    void count_handshake(bool was_resumed) {
        std::lock_guard lock(mutex);
        ++handshakes;
        resumed += was_resumed ? 1 : 0;
    }

    void checked(const tcp::endpoint& local) {
        std::lock_guard lock(mutex);
        auto now = clock_type::now();
        auto key = local.address().is_v4() ? local.address().to_v4().to_uint() : 0;
        auto [it, fresh] = last_by_address.try_emplace(key, now);
        if (!fresh) {
            auto gap = std::chrono::duration<double, std::milli>(now - it->second).count();
            lateness_ms.push_back(gap - static_cast<double>(interval.count()));
            it->second = now;
        }
    }

    void print() {
        std::lock_guard lock(mutex);
        auto at = [this](double q) {
            if (lateness_ms.empty()) {
                return 0.0;
            }
            auto i = static_cast<std::size_t>(q * static_cast<double>(lateness_ms.size() - 1));
            std::nth_element(lateness_ms.begin(),
                             lateness_ms.begin() + static_cast<std::ptrdiff_t>(i),
                             lateness_ms.end());
            return lateness_ms[i];
        };
        double p50 = at(0.5);
        double p99 = at(0.99);
        double max =
            lateness_ms.empty() ? 0.0 : *std::max_element(lateness_ms.begin(), lateness_ms.end());
        std::printf(
            "connections=%llu requests=%llu gaps=%zu late_p50_ms=%.1f late_p99_ms=%.1f "
            "late_max_ms=%.1f handshakes=%llu resumed=%llu\n",
            static_cast<unsigned long long>(connections), static_cast<unsigned long long>(requests),
            lateness_ms.size(), p50, p99, max, static_cast<unsigned long long>(handshakes),
            static_cast<unsigned long long>(resumed));
        std::fflush(stdout);
        lateness_ms.clear();
    }
};

struct server_options {
    bool keep_alive = false;
    bool per_accept = false;
    asio::ssl::context* tls = nullptr;
};

// `Stream` is a tcp::socket, or an ssl::stream over one.
template <class Stream>
struct connection : std::enable_shared_from_this<connection<Stream>> {
    template <class... Layer>
    connection(tcp::socket s, check_counter& c, const server_options& o, Layer&... layer)
        : socket(std::move(s), layer...), counter(c), options(o) {
        boost::system::error_code ec;
        local = lowest().local_endpoint(ec);
    }
    Stream socket;
    check_counter& counter;
    const server_options& options;
    tcp::endpoint local;
    asio::streambuf request{8192};

    tcp::socket& lowest() {
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            return socket;
        } else {
            return socket.next_layer();
        }
    }

    void begin() {
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            start();
        } else {
            auto self = this->shared_from_this();
            socket.async_handshake(asio::ssl::stream_base::server,
                                   [self](const boost::system::error_code& ec) {
                                       if (ec) {
                                           return;  // a TCP check, or a failed handshake
                                       }
                                       self->counter.count_handshake(
                                           SSL_session_reused(self->socket.native_handle()) == 1);
                                       self->start();
                                   });
        }
    }

    void start() {
        auto self = this->shared_from_this();
        asio::async_read_until(
            socket, request, "\r\n\r\n",
            [self](const boost::system::error_code& ec, std::size_t n) {
                if (ec) {
                    return;  // a TCP check: connected and left; or a kept-alive one closed
                }
                self->request.consume(n);
                self->counter.count_request();
                if (!self->options.per_accept) {
                    self->counter.checked(self->local);
                }
                auto reply = self->options.keep_alive ? kept_reply : closing_reply;
                asio::async_write(self->socket, asio::buffer(reply.data(), reply.size()),
                                  [self](const boost::system::error_code& wec, std::size_t) {
                                      if (wec) {
                                          return;
                                      }
                                      if (self->options.keep_alive) {
                                          self->start();
                                          return;
                                      }
                                      boost::system::error_code ignored;
                                      self->lowest().shutdown(tcp::socket::shutdown_send, ignored);
                                  });
            });
    }
};

// The acceptor runs on a strand (its operations must not overlap); each accepted connection gets
// the plain executor, so connections are served by every thread.
void accept(tcp::acceptor& acceptor, asio::io_context& io, check_counter& counter,
            const server_options& options) {
    acceptor.async_accept(
        io.get_executor(),
        [&acceptor, &io, &counter, &options](const boost::system::error_code& ec, tcp::socket s) {
            if (!ec) {
                counter.count_connection();
                if (options.tls != nullptr) {
                    auto c = std::make_shared<connection<asio::ssl::stream<tcp::socket>>>(
                        std::move(s), counter, options, *options.tls);
                    if (options.per_accept) {
                        counter.checked(c->local);
                    }
                    c->begin();
                } else {
                    auto c =
                        std::make_shared<connection<tcp::socket>>(std::move(s), counter, options);
                    if (options.per_accept) {
                        counter.checked(c->local);
                    }
                    c->begin();
                }
            }
            accept(acceptor, io, counter, options);
        });
}

void read_commands(asio::posix::stream_descriptor& in, asio::streambuf& buffer,
                   check_counter& counter, asio::io_context& io) {
    asio::async_read_until(in, buffer, '\n', [&](const boost::system::error_code& ec, std::size_t) {
        if (ec) {
            io.stop();
            return;
        }
        std::istream lines(&buffer);
        std::string line;
        std::getline(lines, line);
        if (line == "stats") {
            counter.print();
        }
        read_commands(in, buffer, counter, io);
    });
}

}  // namespace

int main(int argc, char** argv) {
    server_options options;
    check_counter counter;
    int threads = 1;
    std::optional<asio::ssl::context> tls;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--keep-alive") {
            options.keep_alive = true;
        } else if (a == "--interval-ms" && i + 1 < argc) {
            counter.interval = std::chrono::milliseconds(std::atol(argv[++i]));
        } else if (a == "--threads" && i + 1 < argc) {
            threads = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--tls" && i + 2 < argc) {
            tls.emplace(asio::ssl::context::tls_server);
            tls->use_certificate_chain_file(argv[++i]);
            tls->use_private_key_file(argv[++i], asio::ssl::context::pem);
            options.tls = &*tls;
        } else if (a == "--per" && i + 1 < argc) {
            options.per_accept = std::string_view(argv[++i]) == "accept";
        } else {
            std::fprintf(stderr,
                         "usage: checkers_bench_server [--keep-alive] [--interval-ms MS] "
                         "[--per accept|request] [--threads T] [--tls CERT KEY]\n");
            return a == "--help" ? 0 : 2;
        }
    }
    asio::io_context io(threads);
    tcp::acceptor acceptor(asio::make_strand(io));
    tcp::endpoint any(tcp::v4(), 0);
    acceptor.open(any.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(any);
    acceptor.listen(65535);
    std::printf("%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    // Several accepts in flight keep up with bursts.
    for (int i = 0; i < 16; ++i) {
        accept(acceptor, io, counter, options);
    }
    asio::posix::stream_descriptor in(io, ::dup(0));
    asio::streambuf commands;
    read_commands(in, commands, counter, io);
    std::vector<std::thread> more;
    for (int i = 1; i < threads; ++i) {
        more.emplace_back([&io] { io.run(); });
    }
    io.run();
    for (auto& t : more) {
        t.join();
    }
}
