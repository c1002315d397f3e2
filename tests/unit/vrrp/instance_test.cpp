#include "vrrp/instance.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <deque>
#include <map>
#include <memory>

#include "vrrp/demultiplex.hpp"

// The shell of one VRRP instance on simulated time: the transport, the address effects and the
// link state are fakes that record what the instance did, so every test asserts the packets it
// sent and the VIPs it changed.

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

ip_address addr(const char* text) {
    return *parse_address(text);
}

struct sent_advert {
    std::string interface;
    advert packet;
    ip_address source;
    ip_address destination;
};

class fake_transport final : public advert_transport {
  public:
    std::optional<std::string> open(const std::string&, address_family) override {
        return std::nullopt;
    }
    std::optional<std::string> send(const std::string& interface, const advert& packet,
                                    const ip_address& source,
                                    const ip_address& destination) override {
        sent.push_back({interface, packet, source, destination});
        calls.push_back("send");
        return std::nullopt;
    }
    void drain(const std::string&, address_family) override {
        ++drains;
        calls.push_back("drain");
        // What "arrived while the loop was busy" is delivered now.
        while (!queued.empty() && receiver) {
            auto next = std::move(queued.front());
            queued.pop_front();
            next();
        }
    }

    std::vector<std::uint8_t> priorities() const {
        std::vector<std::uint8_t> out;
        for (const auto& s : sent) {
            out.push_back(s.packet.priority);
        }
        return out;
    }

    std::vector<sent_advert> sent;
    std::deque<std::function<void()>> queued;
    instance* receiver = nullptr;
    int drains = 0;
    std::vector<std::string> calls;  // send and drain, in order
};

class fake_links final : public link_state_source {
  public:
    const interface_info* find(const std::string& name) override {
        auto found = interfaces.find(name);
        return found == interfaces.end() ? nullptr : &found->second;
    }
    void refresh(const std::string&) override {}
    std::map<std::string, interface_info> interfaces;
};

class fake_effects final : public address_effects {
  public:
    address_result add(int ifindex, const ip_prefix& vip) override {
        log.push_back("add " + std::to_string(ifindex) + " " + to_string(vip));
        return {address_change::done, {}};
    }
    address_result remove(int ifindex, const ip_prefix& vip) override {
        log.push_back("remove " + std::to_string(ifindex) + " " + to_string(vip));
        return {address_change::done, {}};
    }
    std::optional<interface_info> lookup(const std::string&) override { return std::nullopt; }
    address_result create_macvlan(int, const std::string&, const mac_address&) override {
        return {address_change::failed, "not in tests"};
    }
    address_result delete_link(const std::string&) override { return {address_change::done, {}}; }
    std::optional<std::string> announce(const interface_info& iface,
                                        const std::vector<ip_prefix>& vips) override {
        log.push_back("announce " + iface.name + " " + std::to_string(vips.size()));
        return std::nullopt;
    }
    std::vector<std::string> log;

    std::size_t count(std::string_view prefix) const {
        std::size_t n = 0;
        for (const auto& line : log) {
            n += line.rfind(prefix, 0) == 0 ? 1U : 0U;
        }
        return n;
    }
};

instance_spec spec_v3(std::uint8_t priority) {
    instance_spec s;
    s.name = "VI_1";
    s.interface = "eth0";
    s.virtual_router_id = 51;
    s.vips = {*parse_prefix("10.0.0.100/24")};
    s.election.priority = priority;
    s.election.version = protocol_version::v3;
    s.election.advert_interval = 1s;
    s.election.virtual_addresses = {addr("10.0.0.100")};
    // One announcement per new master, no repeats: the tests count them.
    s.announce.master_repeat = 1;
    s.announce.master_delay = 0s;
    return s;
}

advert peer_advert(std::uint8_t priority, std::uint8_t vrid = 51) {
    advert a;
    a.version = protocol_version::v3;
    a.virtual_router_id = vrid;
    a.priority = priority;
    a.max_advert_interval = 100;  // centiseconds
    a.addresses = {addr("10.0.0.100")};
    return a;
}

const ip_address peer = addr("10.0.0.2");
const ip_address lower_peer = addr("10.0.0.0");

// One instance on eth0 (10.0.0.1) with fakes around it, on simulated time.
struct harness {
    explicit harness(instance_spec spec = spec_v3(100)) {
        interface_info eth0;
        eth0.index = 2;
        eth0.name = "eth0";
        eth0.mac = {0x02, 0, 0, 0, 0, 0x01};
        eth0.link_up = true;
        eth0.addresses = {*parse_prefix("10.0.0.1/24")};
        links.interfaces["eth0"] = eth0;
        shell = std::make_unique<instance>(
            std::move(spec),
            instance_environment{clock, transport, effects, links, log, runner, nullptr});
        transport.receiver = shell.get();
    }

    void hear(std::uint8_t priority, const ip_address& from = peer) {
        shell->on_advert(peer_advert(priority), from, 255);
    }
    // Starts and waits out Master_Down_Interval (3 s + skew) with nobody else on the link.
    void become_master() {
        shell->start();
        clock.advance(4s);
        REQUIRE(shell->core().current_state() == state::master);
    }
    state current() const { return shell->core().current_state(); }

    manual_clock clock;
    fake_transport transport;
    fake_effects effects;
    fake_links links;
    event_log log{std::make_unique<memory_sink>()};
    boost::asio::io_context io;
    child_process_runner runner{io.get_executor()};
    std::unique_ptr<instance> shell;
};

}  // namespace

TEST_CASE("a backup with nobody on the link takes over: advert, VIPs, announcement") {
    harness h;
    h.shell->start();
    CHECK(h.current() == state::backup);
    CHECK(h.transport.sent.empty());
    h.clock.advance(3s);  // Master_Down_Interval is 3 s + 0.61 s skew at priority 100
    CHECK(h.current() == state::backup);
    h.clock.advance(1s);
    CHECK(h.current() == state::master);
    REQUIRE(h.transport.sent.size() == 1);
    CHECK(h.transport.sent[0].packet.priority == 100);
    CHECK(h.transport.sent[0].packet.virtual_router_id == 51);
    CHECK(h.transport.sent[0].source == addr("10.0.0.1"));
    CHECK(h.transport.sent[0].destination == addr("224.0.0.18"));
    CHECK(h.effects.log == std::vector<std::string>{"add 2 10.0.0.100/24", "announce eth0 1"});
    // Then one advert every advert interval.
    h.clock.advance(3s);
    CHECK(h.transport.sent.size() == 4);
}

TEST_CASE(
    "a master preempted by a higher-priority peer sends a last advert and releases its VIPs") {
    harness h;
    h.become_master();
    h.effects.log.clear();
    auto sent_before = h.transport.sent.size();
    h.hear(200);
    CHECK(h.current() == state::backup);
    CHECK(h.shell->core().master_address() == peer);
    REQUIRE(h.transport.sent.size() == sent_before + 1);
    CHECK(h.transport.sent.back().packet.priority == 100);
    CHECK(h.effects.log == std::vector<std::string>{"remove 2 10.0.0.100/24"});
    // A backup sends nothing while the master keeps speaking.
    for (int i = 0; i < 5; ++i) {
        h.clock.advance(1s);
        h.hear(200);
    }
    CHECK(h.transport.sent.size() == sent_before + 1);
    CHECK(h.current() == state::backup);
}

TEST_CASE("a backup preempts a lower-priority master once Master_Down_Interval passes") {
    harness h(spec_v3(150));
    h.shell->start();
    for (int i = 0; i < 5; ++i) {
        h.clock.advance(1s);
        h.hear(100);
    }
    CHECK(h.current() == state::master);
    CHECK(h.effects.count("add ") == 1);
    CHECK(h.transport.priorities().front() == 150);
}

TEST_CASE("an advert with another VRID is dropped, counted and changes nothing") {
    harness h;
    h.become_master();
    auto sent_before = h.transport.sent.size();
    // Through the demultiplexer, as the shared socket delivers it: a VRID nobody runs.
    auto bytes = encode(peer_advert(200, 52), peer, addr("224.0.0.18"));
    std::vector<instance*> members{h.shell.get()};
    demultiplex(members, address_family::ipv4,
                inbound_packet{bytes, peer, addr("224.0.0.18"), 255});
    // Handed to the instance directly, it drops it too.
    h.shell->on_advert(peer_advert(200, 52), peer, 255);
    CHECK(h.current() == state::master);
    CHECK(h.transport.sent.size() == sent_before);
    CHECK(h.shell->status().dropped == std::map<std::string, std::uint64_t>{{"unknown_vrid", 2}});
    CHECK(h.shell->status().adverts_received == 0);
    // The same advert with the right VRID does preempt: the drop was the VRID's doing.
    auto right = encode(peer_advert(200, 51), peer, addr("224.0.0.18"));
    demultiplex(members, address_family::ipv4,
                inbound_packet{right, peer, addr("224.0.0.18"), 255});
    CHECK(h.current() == state::backup);
}

TEST_CASE("link flap: FAULT releases the VIPs and silences adverts, link up returns to BACKUP") {
    harness h;
    h.become_master();
    h.effects.log.clear();
    h.links.interfaces["eth0"].link_up = false;
    h.shell->on_link(false);
    CHECK(h.current() == state::fault);
    CHECK(h.effects.log == std::vector<std::string>{"remove 2 10.0.0.100/24"});
    auto sent_in_fault = h.transport.sent.size();
    h.clock.advance(10s);
    CHECK(h.transport.sent.size() == sent_in_fault);
    CHECK(h.current() == state::fault);
    h.links.interfaces["eth0"].link_up = true;
    h.shell->on_link(true);
    CHECK(h.current() == state::backup);
    CHECK(h.effects.count("add ") == 0);
    h.clock.advance(4s);
    CHECK(h.current() == state::master);
    CHECK(h.effects.count("add ") == 1);
}

TEST_CASE("a master hearing a lower master re-advertises and re-announces, at most once a second") {
    harness h;
    h.become_master();
    h.effects.log.clear();
    auto sent_before = h.transport.sent.size();
    h.hear(50, lower_peer);
    CHECK(h.current() == state::master);
    CHECK(h.transport.sent.size() == sent_before + 1);
    CHECK(h.effects.count("announce") == 1);
    // A stubborn lower master speaking ten times within the second gets no more of either.
    for (int i = 0; i < 10; ++i) {
        h.clock.advance(50ms);
        h.hear(50, lower_peer);
    }
    CHECK(h.transport.sent.size() == sent_before + 1);
    CHECK(h.effects.count("announce") == 1);
    // A second later it is told again.
    h.clock.advance(500ms);
    h.hear(50, lower_peer);
    CHECK(h.effects.count("announce") == 2);
    CHECK(h.transport.sent.size() >= sent_before + 2);
    CHECK(h.effects.count("add ") == 0);  // it kept its VIPs throughout
}

TEST_CASE("shutdown makes a master resign with priority 0 and release its VIPs") {
    harness h;
    h.become_master();
    h.effects.log.clear();
    auto sent_before = h.transport.sent.size();
    h.shell->shutdown();
    REQUIRE(h.transport.sent.size() == sent_before + 1);
    CHECK(h.transport.sent.back().packet.priority == 0);
    CHECK(h.effects.log == std::vector<std::string>{"remove 2 10.0.0.100/24"});
    CHECK(h.current() == state::initialize);
    h.clock.advance(10s);
    CHECK(h.transport.sent.size() == sent_before + 1);
}

TEST_CASE("a backup shut down sends nothing and touches no VIP") {
    harness h;
    h.shell->start();
    h.shell->shutdown();
    CHECK(h.transport.sent.empty());
    CHECK(h.effects.log.empty());
}

TEST_CASE("a late timer reads the adverts waiting for it before declaring the master dead") {
    harness h;
    h.shell->start();
    h.clock.advance(3s);
    // The master's advert sits unread in the socket when Master_Down_Timer fires.
    h.transport.queued.push_back([&] { h.hear(200); });
    h.clock.advance(1s);
    CHECK(h.transport.drains >= 1);
    CHECK(h.current() == state::backup);
    CHECK(h.transport.sent.empty());
}

TEST_CASE("a master whose advert is due sends it before reading what waits on the socket") {
    harness h;
    h.become_master();
    h.transport.calls.clear();
    // Junk keeps arriving: reading first would put the advert behind it.
    for (int i = 0; i < 100; ++i) {
        h.transport.queued.push_back([&] { h.shell->count_drop("bad_checksum", peer); });
    }
    h.clock.advance(1s);
    REQUIRE(h.transport.calls.size() >= 2);
    CHECK(h.transport.calls[0] == "send");
    CHECK(h.transport.calls[1] == "drain");
    CHECK(h.current() == state::master);
}
