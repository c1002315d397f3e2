// The server side of checkers_bench, in its own process so its CPU is not counted against the
// checker: listens on 0.0.0.0 (every 127.x.y.z address reaches it) and answers each connection
// with one small HTTP/1.1 response, then closes. A TCP connect check is served by the same accept.
// Prints the port, then serves until stdin closes.

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <memory>
#include <string_view>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::string_view reply =
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "\r\nOK\n";

struct connection : std::enable_shared_from_this<connection> {
    explicit connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    asio::streambuf request{8192};

    void start() {
        auto self = shared_from_this();
        asio::async_read_until(
            socket, request, "\r\n\r\n", [self](const boost::system::error_code& ec, std::size_t) {
                if (ec) {
                    return;  // a TCP check: connected and left
                }
                asio::async_write(self->socket, asio::buffer(reply.data(), reply.size()),
                                  [self](const boost::system::error_code&, std::size_t) {
                                      boost::system::error_code ignored;
                                      self->socket.shutdown(tcp::socket::shutdown_send, ignored);
                                  });
            });
    }
};

void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](const boost::system::error_code& ec, tcp::socket s) {
        if (!ec) {
            std::make_shared<connection>(std::move(s))->start();
        }
        accept(acceptor);
    });
}

}  // namespace

int main() {
    asio::io_context io(1);
    tcp::acceptor acceptor(io);
    tcp::endpoint any(tcp::v4(), 0);
    acceptor.open(any.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(any);
    acceptor.listen(65535);
    std::printf("%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    // Several accepts in flight keep up with bursts.
    for (int i = 0; i < 16; ++i) {
        accept(acceptor);
    }
    asio::posix::stream_descriptor in(io, ::dup(0));
    char byte;
    in.async_read_some(asio::buffer(&byte, 1),
                       [&io](const boost::system::error_code&, std::size_t) { io.stop(); });
    io.run();
}
