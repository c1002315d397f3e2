#include "supervisor.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "config/loader.hpp"

using namespace vigil;
using namespace std::chrono_literals;
namespace asio = boost::asio;

// The daemon's engines wired together, on simulated time: the supervisor runs real TCP checks
// against loopback and programs the in-memory IPVS table (the backend seam), while a manual clock
// drives every timer.

namespace {

const time_point t0 = time_point{} + 1000h;

class capturing_sink final : public log_sink {
  public:
    explicit capturing_sink(std::vector<boost::json::object>& records) : records_(records) {}
    void write(const log_record& record) override {
        records_.push_back(boost::json::parse(format_json(record)).as_object());
    }

  private:
    std::vector<boost::json::object>& records_;
};

struct scratch_folder {
    std::filesystem::path path;
    scratch_folder() {
        char pattern[] = "/tmp/vigil-supervisor-XXXXXX";
        path = ::mkdtemp(pattern);
    }
    ~scratch_folder() { std::filesystem::remove_all(path); }
};

struct lab {
    asio::io_context io;
    std::vector<boost::json::object> records;
    event_log log{std::make_unique<capturing_sink>(records), log_level::debug};
    random_source random{7};
    manual_clock clock{t0};
    asio::ip::tcp::acceptor healthy{io};
    std::uint16_t refused_port = 0;
    scratch_folder dir;
    std::optional<supervisor> engines;

    lab() {
        listen(healthy);
        accept();
        asio::ip::tcp::acceptor closed(io);
        listen(closed);
        refused_port = closed.local_endpoint().port();
        closed.close();
        engines.emplace(io.get_executor(), log, clock, random);
    }

    static void listen(asio::ip::tcp::acceptor& a) {
        asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
        a.open(at.protocol());
        a.bind(at);
        a.listen();
    }
    void accept() {
        healthy.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket) {
            if (!ec) {
                accept();
            }
        });
    }
    std::string up_server() const {
        return "127.0.0.1:" + std::to_string(healthy.local_endpoint().port());
    }
    std::string down_server() const { return "127.0.0.1:" + std::to_string(refused_port); }

    config::configuration load(unsigned up_weight = 3) {
        std::filesystem::create_directories(dir.path / "conf.d");
        std::ofstream(dir.path / "vigil.toml")
            << "[global]\ncontrol_socket = \"" << (dir.path / "s").string() << "\"\n"
            << "state_dir = \"" << (dir.path / "state").string() << "\"\n"
            << "include = [\"conf.d/*.toml\"]\n[global.ipvs]\nbackend = \"memory\"\n";
        std::ofstream(dir.path / "conf.d" / "web.toml")
            << "[virtual_server]\naddress = \"127.0.1.200:80\"\nprotocol = \"tcp\"\n"
            << "check = { type = \"tcp\", interval = \"2s\", timeout = \"1s\", rise = 1, "
               "fall = 1 }\n"
            << "[[virtual_server.real_server]]\naddress = \"" << up_server()
            << "\"\nweight = " << up_weight << "\n"
            << "[[virtual_server.real_server]]\naddress = \"" << down_server() << "\"\n";
        auto loaded = config::load_configuration((dir.path / "vigil.toml").string());
        REQUIRE(loaded.config);
        return std::move(*loaded.config);
    }

    // Simulated time moves in small steps; between them the real sockets get to answer.
    void run_for(mono_clock::duration span) {
        auto until = clock.now() + span;
        while (clock.now() < until) {
            clock.advance(50ms);
            for (int i = 0; i < 5; ++i) {
                io.restart();
                io.run_for(2ms);
            }
        }
    }

    // Runs what is ready on the loop without moving time: answers from the IPVS backend.
    void deliver() {
        io.restart();
        io.poll();
    }

    // destination address -> weight, as `vigil status` reports the kernel's table.
    std::map<std::string, std::int64_t> kernel_weights() const {
        status_snapshot snapshot;
        engines->add_status(snapshot);
        auto document = status_json(snapshot);
        std::map<std::string, std::int64_t> weights;
        const auto& services = document.at("ipvs").at("services").as_array();
        REQUIRE(services.size() == 1);
        for (const auto& d : services.front().at("destinations").as_array()) {
            weights[std::string(d.at("address").as_string())] =
                d.at("weight").to_number<std::int64_t>();
        }
        return weights;
    }

    std::vector<boost::json::object> events(std::string_view name) const {
        std::vector<boost::json::object> found;
        for (const auto& r : records) {
            if (r.at("event").as_string() == name) {
                found.push_back(r);
            }
        }
        return found;
    }
};

}  // namespace

TEST_CASE("a refused real server leaves the table with one operation, no dump, on its check") {
    lab l;
    REQUIRE(l.engines->start(l.load()));
    l.run_for(100ms);  // the first sync programs the table: both servers count as up
    CHECK(l.kernel_weights() ==
          std::map<std::string, std::int64_t>{{l.up_server(), 3}, {l.down_server(), 1}});
    l.run_for(2500ms);  // every server checked once
    CHECK(l.kernel_weights() == std::map<std::string, std::int64_t>{{l.up_server(), 3}});
    auto down = l.events("real_server.down");
    REQUIRE(down.size() == 1);
    CHECK(down.front().at("real_server").as_string() == "web/" + l.down_server());
    // The change went out by itself, as one operation: no second full sync.
    auto syncs = l.events("ipvs.synced");
    auto health_syncs = std::count_if(syncs.begin(), syncs.end(), [](const auto& s) {
        return s.at("reason").as_string() == "health";
    });
    CHECK(health_syncs == 1);
    for (const auto& s : syncs) {
        if (s.at("reason").as_string() == "health") {
            CHECK(s.at("operations").to_number<std::int64_t>() == 1);
        }
    }
}

TEST_CASE("a drain is weight 0 in the table and on disk, and an undrain restores the weight") {
    lab l;
    REQUIRE(l.engines->start(l.load()));
    l.run_for(2500ms);
    auto name = "web/" + l.up_server();
    auto drained = l.engines->set_drained(name, true);
    REQUIRE(drained);
    CHECK(*drained);
    l.deliver();  // the kernel's answer updates the view status reads
    CHECK(l.kernel_weights().at(l.up_server()) == 0);
    std::ifstream file(l.dir.path / "state" / "drained");
    std::string line;
    std::getline(file, line);
    CHECK(line == name);
    CHECK_FALSE(*l.engines->set_drained(name, true));  // already drained: nothing changes
    REQUIRE(*l.engines->set_drained(name, false));
    l.deliver();
    CHECK(l.kernel_weights().at(l.up_server()) == 3);
}

TEST_CASE("a reload that changes one weight edits one destination and keeps health") {
    lab l;
    REQUIRE(l.engines->start(l.load()));
    l.run_for(2500ms);
    auto downs = l.events("real_server.down").size();
    REQUIRE(l.engines->reconfigure(l.load(5)));
    l.run_for(500ms);
    CHECK(l.kernel_weights() == std::map<std::string, std::int64_t>{{l.up_server(), 5}});
    CHECK(l.events("real_server.down").size() == downs);
    CHECK(l.events("real_server.up").empty());
}
