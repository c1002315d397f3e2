#include "control_server.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace vigil {

namespace asio = boost::asio;
using local_socket = asio::local::stream_protocol::socket;

// Requests are one short line; anything longer is a client bug or an attack.
constexpr std::size_t max_request_bytes = 64 * 1024;
constexpr auto client_deadline = std::chrono::seconds(5);
// Clients served at once; more are told "busy" and closed at once, so idle clients can never
// take the descriptors the checks and the VRRP sockets need.
constexpr std::size_t max_clients = 32;

// Owned jointly by the server and its coroutines, so a client still being served when the
// server closes never touches freed memory.
struct control_server::shared_state {
    shared_state(asio::any_io_executor executor, request_handler h, std::string socket_path)
        : acceptor(std::move(executor)),
          handler(std::move(h)),
          path(std::move(socket_path)),
          reserve(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}
    ~shared_state() {
        if (reserve >= 0) {
            ::close(reserve);
        }
    }
    shared_state(const shared_state&) = delete;
    shared_state& operator=(const shared_state&) = delete;
    asio::local::stream_protocol::acceptor acceptor;
    request_handler handler;
    std::string path;
    // Held open so that, out of descriptors, one can be freed to tell a client "busy".
    int reserve;
    std::size_t clients = 0;
    bool open = false;
};

control_server::control_server(asio::any_io_executor executor, event_log& log,
                               request_handler handler)
    : executor_(std::move(executor)), log_(log), handler_(std::move(handler)) {}

control_server::~control_server() {
    close();
}

namespace {

bool someone_listens(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return connected;
}

bool peer_allowed(local_socket& socket) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
        return false;
    }
    return credentials.uid == 0 || credentials.uid == ::geteuid();
}

boost::json::object error_reply(std::string message) {
    boost::json::object reply;
    reply["error"] = std::move(message);
    return reply;
}

// Waits for the handler's answer (a serialized JSON object), which may come on a later loop turn.
template <class State>
asio::awaitable<rendered_text> answer(State& state, const boost::json::object& request) {
    auto slot = std::make_shared<rendered_text>();
    auto wake = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                     asio::steady_timer::time_point::max());
    try {
        state.handler(request, [slot, wake](rendered_text reply) {
            *slot = std::move(reply);
            wake->cancel();
        });
    } catch (const std::exception& e) {
        co_return json_line(error_reply(std::string("internal error: ") + e.what()));
    }
    if (!*slot) {
        co_await wake->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return *slot ? std::move(*slot) : json_line(error_reply("internal error: no answer"));
}

// Writes as long as the client keeps reading: the deadline is per chunk, so a 10 MB status
// reaches a slow but live reader while a client that stops reading is dropped after 5 s.
asio::awaitable<void> send_reply(local_socket& socket, const std::string& text) {
    using namespace asio::experimental::awaitable_operators;
    // A send buffer that holds the whole reply (up to 32 MiB) means no chunk waits for the
    // client to read. SO_SNDBUFFORCE passes net.core.wmem_max with CAP_NET_ADMIN; without it the
    // plain request is capped by the kernel and the client's reading paces the chunks.
    constexpr std::size_t max_send_buffer = 32 * 1024 * 1024;
    if (text.size() > 64 * 1024) {
        int wanted = static_cast<int>(std::min(text.size() + 4096, max_send_buffer));
        if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDBUFFORCE, &wanted,
                         sizeof wanted) != 0) {
            ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &wanted, sizeof wanted);
        }
    }
    auto token = asio::as_tuple(asio::use_awaitable);
    // Each chunk is a loop turn of its own. Handing a whole 4 MB status to the kernel in one
    // write costs milliseconds, and thirty clients sharing one render held the loop (and the
    // VRRP adverts on it) for over half a second; 64 KiB chunks keep each write near 50 us.
    constexpr std::size_t chunk = 64 * 1024;
    asio::steady_timer deadline(socket.get_executor());
    std::size_t done = 0;
    while (done < text.size()) {
        deadline.expires_after(client_deadline);
        auto result = co_await (
            socket.async_write_some(
                asio::buffer(text.data() + done, std::min(chunk, text.size() - done)), token) ||
            deadline.async_wait(token));
        if (result.index() == 1) {
            co_return;
        }
        auto [ec, n] = std::get<0>(result);
        if (ec) {
            co_return;
        }
        done += n;
    }
}

// After refusing an over-long request the rest of it is still unread, and closing a socket with
// unread data resets the connection, which can destroy the reply before the client reads it. So
// the reply is followed by a half-close and the rest of the request is read and dropped, within
// a bound.
asio::awaitable<void> discard_rest(local_socket& socket) {
    using namespace asio::experimental::awaitable_operators;
    auto token = asio::as_tuple(asio::use_awaitable);
    boost::system::error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_send, ignored);
    asio::steady_timer deadline(socket.get_executor(), std::chrono::seconds(1));
    std::array<char, 16 * 1024> sink{};
    for (std::size_t total = 0; total < 16 * 1024 * 1024;) {
        auto result = co_await (socket.async_read_some(asio::buffer(sink), token) ||
                                deadline.async_wait(token));
        if (result.index() == 1) {
            co_return;
        }
        auto [ec, n] = std::get<0>(result);
        if (ec) {
            co_return;
        }
        total += n;
    }
}

template <class State>
asio::awaitable<void> serve_client(local_socket socket, std::shared_ptr<State> state) {
    using namespace asio::experimental::awaitable_operators;
    auto token = asio::as_tuple(asio::use_awaitable);
    // The request is read even from a refused peer, so its write never fails with a broken pipe
    // and it reads why it was refused.
    std::string line;
    asio::steady_timer deadline(socket.get_executor(), client_deadline);
    auto result =
        co_await (asio::async_read_until(socket, asio::dynamic_buffer(line, max_request_bytes),
                                         '\n', token) ||
                  deadline.async_wait(token));
    if (result.index() == 1) {
        co_return;  // the client said nothing in time
    }
    auto [ec, n] = std::get<0>(result);
    rendered_text reply;
    bool too_long = ec == asio::error::not_found;
    if (!peer_allowed(socket)) {
        reply = json_line(error_reply(
            "permission denied: only root and the daemon's user may use " + state->path));
    } else if (too_long) {
        reply = json_line(error_reply("request longer than " +
                                      std::to_string(max_request_bytes / 1024) + " KiB"));
    } else if (ec) {
        co_return;
    } else {
        boost::system::error_code parse_error;
        auto request = boost::json::parse(std::string_view(line).substr(0, n), parse_error);
        if (parse_error || !request.is_object()) {
            reply = json_line(error_reply("a request is one JSON object on one line"));
        } else {
            reply = co_await answer(*state, request.as_object());
        }
    }
    co_await send_reply(socket, *reply);
    if (too_long || ec) {
        co_await discard_rest(socket);
    }
}

// A one-line answer without waiting: a client that is turned away gets no more of our time.
void tell_busy(int fd, std::string_view why) {
    char request[4096];
    // Read what the client sent so the close does not reset the connection under the reply.
    while (::recv(fd, request, sizeof request, MSG_DONTWAIT) > 0) {
    }
    auto text =
        boost::json::serialize(error_reply("busy: " + std::string(why) + "; try again")) + "\n";
    (void)::send(fd, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Out of descriptors, accept() fails at once for as long as the client waits in the backlog.
// The reserve descriptor is given up for a moment to accept that client, tell it why, and close.
void turn_away_one(int listener, int& reserve) {
    ::close(reserve);
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
        tell_busy(fd, "out of file descriptors");
        ::close(fd);
    }
    reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

bool out_of_descriptors(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
           ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

template <class State>
asio::awaitable<void> accept_loop(std::shared_ptr<State> state, event_log& log) {
    auto& acceptor = state->acceptor;
    constexpr auto first_backoff = std::chrono::milliseconds(10);
    constexpr auto max_backoff = std::chrono::seconds(1);
    constexpr auto log_interval = std::chrono::seconds(10);
    auto backoff = std::chrono::milliseconds(0);
    std::optional<std::chrono::steady_clock::time_point> last_logged;
    std::uint64_t not_logged = 0;
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (!ec) {
            backoff = std::chrono::milliseconds(0);
            if (state->clients >= max_clients) {
                tell_busy(socket.native_handle(),
                          std::to_string(max_clients) + " clients are being served");
                continue;  // the socket closes here
            }
            ++state->clients;
            asio::co_spawn(acceptor.get_executor(), serve_client(std::move(socket), state),
                           [state](const std::exception_ptr&) { --state->clients; });
            continue;
        }
        if (out_of_descriptors(ec) && state->reserve >= 0) {
            turn_away_one(acceptor.native_handle(), state->reserve);
        }
        auto now = std::chrono::steady_clock::now();
        if (!last_logged || now - *last_logged >= log_interval) {
            log.warning("control.accept_failed",
                        {{"error", ec.message()}, {"failures_not_logged", not_logged}});
            last_logged = now;
            not_logged = 0;
        } else {
            ++not_logged;
        }
        // Back off: a failing accept() returns at once, and retrying at once would spin.
        backoff = std::min<std::chrono::milliseconds>(
            max_backoff, backoff.count() == 0 ? first_backoff : backoff * 2);
        pause.expires_after(backoff);
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!acceptor.is_open()) {
            co_return;
        }
    }
}

}  // namespace

std::optional<std::string> control_server::open(const std::string& path) {
    close();
    std::error_code fs_error;
    auto folder = std::filesystem::path(path).parent_path();
    if (!folder.empty() && !std::filesystem::exists(folder, fs_error)) {
        std::filesystem::create_directories(folder, fs_error);
        if (fs_error) {
            return "cannot create " + folder.string() + ": " + fs_error.message();
        }
    }
    struct stat existing {};
    if (::lstat(path.c_str(), &existing) == 0) {
        if (!S_ISSOCK(existing.st_mode)) {
            return path + " exists and is not a socket";
        }
        if (someone_listens(path)) {
            return "another process is listening on " + path + " (is vigil already running?)";
        }
        ::unlink(path.c_str());
    }
    state_ = std::make_shared<shared_state>(executor_, handler_, path);
    boost::system::error_code ec;
    auto& acceptor = state_->acceptor;
    acceptor.open(asio::local::stream_protocol(), ec);
    if (!ec) {
        // The socket file is created by bind with the umask applied: make it 0600 from birth so
        // there is no window in which others could connect.
        auto previous = ::umask(0177);
        acceptor.bind(asio::local::stream_protocol::endpoint(path), ec);
        ::umask(previous);
    }
    if (!ec) {
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        state_.reset();
        return "cannot listen on " + path + ": " + ec.message();
    }
    path_ = path;
    state_->open = true;
    asio::co_spawn(executor_, accept_loop(state_, log_), asio::detached);
    return std::nullopt;
}

void control_server::close() {
    if (!state_) {
        return;
    }
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    if (state_->open) {
        ::unlink(path_.c_str());
    }
    state_.reset();
}

rendered_text json_line(const boost::json::object& object) {
    auto line = boost::json::serialize(object);
    line += '\n';
    return std::make_shared<const std::string>(std::move(line));
}

std::uint64_t raise_descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return 0;
    }
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            limit = raised;
        }
    }
    return limit.rlim_cur;
}

namespace {

// Closes on every way out of control_request.
struct client_socket {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ~client_socket() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

std::string receive_error(const std::string& path, int error, std::chrono::seconds timeout) {
    if (error == EAGAIN || error == EWOULDBLOCK) {
        return "the daemon did not answer on " + path + " within " +
               std::to_string(timeout.count()) + " s";
    }
    return "no reply from " + path + ": " + std::strerror(error);
}

}  // namespace

control_reply control_request(const std::string& path, const boost::json::object& request,
                              std::chrono::seconds timeout) {
    client_socket client;
    if (client.fd < 0) {
        return {std::nullopt, std::strerror(errno)};
    }
    // Per call, not in total: a large status keeps arriving as long as the daemon sends it.
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(client.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        return {std::nullopt, "socket path too long: " + path};
    }
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::connect(client.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        return {std::nullopt, "cannot connect to " + path + ": " + std::strerror(errno)};
    }
    auto text = boost::json::serialize(request) + "\n";
    std::string send_error;
    for (std::size_t done = 0; done < text.size();) {
        auto n = ::send(client.fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            // The daemon may have refused the request already: its reply says why.
            send_error = "cannot send to " + path + ": " + std::strerror(errno);
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    std::string reply;
    char buffer[64 * 1024];
    // A reply is one line: stop at its end rather than wait for the daemon to close.
    while (reply.empty() || reply.back() != '\n') {
        auto n = ::recv(client.fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return {std::nullopt,
                    send_error.empty() ? receive_error(path, errno, timeout) : send_error};
        }
        if (n == 0) {
            break;
        }
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    boost::system::error_code ec;
    auto parsed = boost::json::parse(reply, ec);
    if (ec || !parsed.is_object()) {
        if (!send_error.empty()) {
            return {std::nullopt, send_error};
        }
        return {std::nullopt, reply.empty() ? "the daemon closed the connection without a reply"
                                            : "the daemon's reply is not a JSON object"};
    }
    return {parsed.as_object(), {}};
}

}  // namespace vigil
