#include "announce/bird_control.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <functional>
#include <optional>

using namespace vigil;
using namespace vigil::announce;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// A peer on a real unix socket that answers as the test scripts it: BIRD itself, or a hostile
// one (silent, slow, garbage, hanging up).
struct scripted_peer {
    asio::io_context& io;
    std::string path;
    stream::acceptor acceptor;
    std::function<void(std::shared_ptr<stream::socket>)> on_client;
    std::vector<std::string> received;

    scripted_peer(asio::io_context& context, std::string p)
        : io(context),
          path(std::move(p)),
          acceptor(context, (std::filesystem::remove(path), stream::endpoint(path))) {}
    ~scripted_peer() { std::filesystem::remove(path); }

    void serve() {
        acceptor.async_accept([this](boost::system::error_code ec, stream::socket s) {
            if (ec) {
                return;
            }
            auto socket = std::make_shared<stream::socket>(std::move(s));
            on_client(socket);
            serve();
        });
    }
    void read_command(std::shared_ptr<stream::socket> socket,
                      std::function<void(std::string)> then) {
        auto buffer = std::make_shared<std::array<char, 256>>();
        socket->async_read_some(
            asio::buffer(*buffer),
            [this, socket, buffer, then](boost::system::error_code ec, std::size_t n) {
                if (!ec) {
                    received.emplace_back(buffer->data(), n);
                    then(received.back());
                }
            });
    }
};

void send(std::shared_ptr<stream::socket> socket, std::string text) {
    auto data = std::make_shared<std::string>(std::move(text));
    asio::async_write(*socket, asio::buffer(*data), [socket, data](auto, auto) {});
}

std::string socket_path(const char* name) {
    return (std::filesystem::temp_directory_path() /
            ("vigil-bird-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

struct fixture {
    asio::io_context io;
    steady_clock_source clock{io.get_executor()};
    std::optional<bird_control::outcome> answer;

    void run_until_answer(bird_control& control, std::string command) {
        control.command(std::move(command), [this](bird_control::outcome o) { answer = o; });
        io.run_for(5s);
    }
    bird_control::done_handler stop_on_answer() {
        return [this](bird_control::outcome o) {
            answer = std::move(o);
            io.stop();
        };
    }
};

}  // namespace

TEST_CASE_FIXTURE(fixture, "a command gets BIRD's reply after the banner") {
    scripted_peer peer(io, socket_path("ok"));
    peer.on_client = [&](auto socket) {
        send(socket, "0001 BIRD 2.0.12 ready.\n");
        peer.read_command(socket, [socket](std::string) {
            send(socket, "0002-Reading configuration from x\n0003 Reconfigured\n");
        });
    };
    peer.serve();
    bird_control control(io.get_executor(), clock, peer.path, 2s);
    control.command("configure", stop_on_answer());
    io.run_for(5s);
    REQUIRE(answer);
    auto* reply = std::get_if<bird_reply>(&*answer);
    REQUIRE(reply);
    CHECK(reply->code == 3);
    REQUIRE(peer.received.size() == 1);
    CHECK(peer.received[0] == "configure\n");
}

TEST_CASE_FIXTURE(fixture, "a missing socket fails the command, later, not from inside command()") {
    bird_control control(io.get_executor(), clock, socket_path("absent"), 2s);
    bool answered_inside = false;
    control.command("configure", [&](bird_control::outcome o) {
        answer = std::move(o);
        io.stop();
    });
    answered_inside = answer.has_value();
    io.run_for(5s);
    CHECK_FALSE(answered_inside);
    REQUIRE(answer);
    auto* error = std::get_if<std::string>(&*answer);
    REQUIRE(error);
    CHECK(error->find("connect") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "a peer that accepts and never speaks costs a bounded timeout") {
    scripted_peer peer(io, socket_path("silent"));
    std::vector<std::shared_ptr<stream::socket>> held;
    peer.on_client = [&](auto socket) { held.push_back(socket); };
    peer.serve();
    bird_control control(io.get_executor(), clock, peer.path, 300ms);
    auto start = std::chrono::steady_clock::now();
    control.command("configure", stop_on_answer());
    io.run_for(5s);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(answer);
    REQUIRE(std::get_if<std::string>(&*answer));
    CHECK(std::get<std::string>(*answer).find("no answer") != std::string::npos);
    CHECK(took >= 300ms);
    CHECK(took < 3s);
}

TEST_CASE_FIXTURE(fixture, "a slow peer dribbling a reply byte by byte is still understood") {
    scripted_peer peer(io, socket_path("slow"));
    auto timer = std::make_shared<asio::steady_timer>(io);
    // The step function lives here; the timer's handler holds it weakly (no cycle to leak).
    std::shared_ptr<std::function<void()>> keep;
    peer.on_client = [&](auto socket) {
        send(socket, "0001 BIRD 2.0.12 ready.\n");
        peer.read_command(socket, [&, socket](std::string) {
            auto text =
                std::make_shared<std::string>("1002-a Static master4 up 01:00:00.000\n0000 \n");
            auto i = std::make_shared<std::size_t>(0);
            auto step = std::make_shared<std::function<void()>>();
            keep = step;
            std::weak_ptr<std::function<void()>> weak = step;
            *step = [=] {
                if (*i == text->size()) {
                    return;
                }
                send(socket, text->substr((*i)++, 1));
                timer->expires_after(2ms);
                timer->async_wait([weak](auto) {
                    if (auto again = weak.lock()) {
                        (*again)();
                    }
                });
            };
            (*step)();
        });
    };
    peer.serve();
    bird_control control(io.get_executor(), clock, peer.path, 3s);
    control.command("show protocols", stop_on_answer());
    io.run_for(5s);
    REQUIRE(answer);
    auto* reply = std::get_if<bird_reply>(&*answer);
    REQUIRE(reply);
    auto rows = parse_show_protocols(*reply);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].name == "a");
}

TEST_CASE_FIXTURE(fixture,
                  "garbage, a huge line and a hang-up mid-reply each fail one command and "
                  "the next command still runs") {
    for (std::string hostile :
         {std::string("not bird at all\n"), "0001 BIRD ready.\n1002-" + std::string(100000, 'z'),
          std::string("0001 BIRD ready.\n0002-Reading")}) {
        CAPTURE(hostile.substr(0, 20));
        answer.reset();
        io.restart();
        scripted_peer peer(io, socket_path("hostile"));
        peer.on_client = [&](auto socket) {
            if (hostile.starts_with("0001")) {
                peer.read_command(socket, [socket, hostile](std::string) {
                    send(socket, hostile.substr(hostile.find('\n') + 1));
                    auto data = std::make_shared<std::string>();
                    // Hang up once the data is out.
                    asio::async_write(*socket, asio::buffer(*data), [socket](auto, auto) {
                        boost::system::error_code ignored;
                        socket->shutdown(stream::socket::shutdown_both, ignored);
                    });
                });
                send(socket, "0001 BIRD ready.\n");
            } else {
                send(socket, hostile);
            }
        };
        peer.serve();
        bird_control control(io.get_executor(), clock, peer.path, 2s);
        std::optional<bird_control::outcome> second;
        control.command("configure", [&](bird_control::outcome o) { answer = std::move(o); });
        control.command("show status", [&](bird_control::outcome o) {
            second = std::move(o);
            io.stop();
        });
        io.run_for(5s);
        REQUIRE(answer);
        CHECK(std::get_if<std::string>(&*answer));
        CHECK(second);
    }
}

TEST_CASE_FIXTURE(fixture, "no answer runs after the client is destroyed") {
    scripted_peer peer(io, socket_path("gone"));
    std::vector<std::shared_ptr<stream::socket>> held;
    peer.on_client = [&](auto socket) { held.push_back(socket); };
    peer.serve();
    bool called = false;
    {
        bird_control control(io.get_executor(), clock, peer.path, 200ms);
        control.command("configure", [&](bird_control::outcome) { called = true; });
        io.run_for(50ms);
    }
    io.run_for(500ms);
    CHECK_FALSE(called);
}
