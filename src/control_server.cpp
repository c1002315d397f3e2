#include "control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

// Owned jointly by the server and its coroutines, so a client still being served when the
// server closes never touches freed memory.
struct control_server::shared_state {
    shared_state(asio::any_io_executor executor, request_handler h)
        : acceptor(std::move(executor)), handler(std::move(h)) {}
    asio::local::stream_protocol::acceptor acceptor;
    request_handler handler;
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

template <class State>
asio::awaitable<void> serve_client(local_socket socket, std::shared_ptr<State> state) {
    using namespace asio::experimental::awaitable_operators;
    auto token = asio::as_tuple(asio::use_awaitable);
    boost::json::object reply;
    if (!peer_allowed(socket)) {
        reply = error_reply("permission denied");
    } else {
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
        if (ec) {
            co_return;
        }
        boost::system::error_code parse_error;
        auto request = boost::json::parse(std::string_view(line).substr(0, n), parse_error);
        if (parse_error || !request.is_object()) {
            reply = error_reply("a request is one JSON object on one line");
        } else {
            try {
                reply = state->handler(request.as_object());
            } catch (const std::exception& e) {
                reply = error_reply(std::string("internal error: ") + e.what());
            }
        }
    }
    auto text = boost::json::serialize(reply) + "\n";
    asio::steady_timer deadline(socket.get_executor(), client_deadline);
    co_await (asio::async_write(socket, asio::buffer(text), token) || deadline.async_wait(token));
}

template <class State>
asio::awaitable<void> accept_loop(std::shared_ptr<State> state, event_log& log) {
    auto& acceptor = state->acceptor;
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            log.warning("control.accept_failed", {{"error", ec.message()}});
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), serve_client(std::move(socket), state),
                       asio::detached);
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
    state_ = std::make_shared<shared_state>(executor_, handler_);
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

control_reply control_request(const std::string& path, const boost::json::object& request) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return {std::nullopt, std::strerror(errno)};
    }
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        ::close(fd);
        return {std::nullopt, "socket path too long: " + path};
    }
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        auto error = std::string(std::strerror(errno));
        ::close(fd);
        return {std::nullopt, "cannot connect to " + path + ": " + error};
    }
    auto text = boost::json::serialize(request) + "\n";
    if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size())) {
        auto error = std::string(std::strerror(errno));
        ::close(fd);
        return {std::nullopt, "cannot send to " + path + ": " + error};
    }
    std::string reply;
    char buffer[4096];
    for (;;) {
        auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            auto error = std::string(std::strerror(errno));
            ::close(fd);
            return {std::nullopt, "no reply from " + path + ": " + error};
        }
        if (n == 0) {
            break;
        }
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    boost::system::error_code ec;
    auto parsed = boost::json::parse(reply, ec);
    if (ec || !parsed.is_object()) {
        return {std::nullopt, "the daemon's reply is not a JSON object"};
    }
    return {parsed.as_object(), {}};
}

}  // namespace vigil
