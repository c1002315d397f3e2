#include "vrrp/instance_set.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <map>

// Reloads of the VRRP side as a transaction: prepare() refuses what cannot start without touching
// the running instances; commit() applies the rest. The address effects are a fake that knows no
// interface, so no socket is ever opened and the test needs no privileges.

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

class no_interfaces final : public address_effects {
  public:
    address_result add(int, const ip_prefix&) override { return {address_change::done, {}}; }
    address_result remove(int, const ip_prefix&) override { return {address_change::done, {}}; }
    std::optional<interface_info> lookup(const std::string&) override { return std::nullopt; }
    address_result create_macvlan(int, const std::string&, const mac_address&) override {
        return {address_change::failed, "not in tests"};
    }
    address_result delete_link(const std::string&) override { return {address_change::done, {}}; }
    std::optional<std::string> announce(const interface_info&,
                                        const std::vector<ip_prefix>&) override {
        return std::nullopt;
    }
};

instance_spec spec(const char* name, const char* interface, std::uint8_t vrid) {
    instance_spec s;
    s.name = name;
    s.interface = interface;
    s.virtual_router_id = vrid;
    s.vips = {*parse_prefix("10.0.0.100/24")};
    s.election.version = protocol_version::v3;
    s.election.virtual_addresses = {s.vips.front().address};
    return s;
}

struct fixture {
    boost::asio::io_context io;
    event_log log{std::make_unique<memory_sink>()};
    no_interfaces effects;
    instance_set set{io.get_executor(), log, effects};
};

}  // namespace

TEST_CASE("a reload adding an instance on a missing interface is refused and changes nothing") {
    fixture f;
    auto running = spec("VI_1", "eth9", 51);
    // At startup a missing interface only keeps the instance in FAULT.
    REQUIRE_FALSE(f.set.start({running}));
    auto before = f.set.status();
    REQUIRE(before.size() == 1);
    CHECK(before[0].current == state::fault);

    auto prepared = f.set.prepare({running, spec("VI_2", "missing0", 52)});
    REQUIRE_FALSE(prepared.has_value());
    CHECK(prepared.error() ==
          std::vector<std::string>{"instance VI_2: interface missing0 does not exist"});
    auto after = f.set.status();
    REQUIRE(after.size() == 1);
    CHECK(after[0].name == "VI_1");
    CHECK(after[0].since == before[0].since);
    CHECK(after[0].transitions == before[0].transitions);
}

TEST_CASE("a reload restarting an instance onto a missing interface is refused") {
    fixture f;
    auto running = spec("VI_1", "eth9", 51);
    REQUIRE_FALSE(f.set.start({running}));
    auto restarted = running;
    restarted.virtual_router_id = 52;  // a VRID change restarts the instance
    auto prepared = f.set.prepare({restarted});
    REQUIRE_FALSE(prepared.has_value());
    CHECK(f.set.status()[0].virtual_router_id == 51);
}

TEST_CASE("a change that applies in place needs nothing new and is committed in place") {
    fixture f;
    auto running = spec("VI_1", "eth9", 51);
    REQUIRE_FALSE(f.set.start({running}));
    auto before = f.set.status()[0];
    auto changed = running;
    changed.election.priority = 120;
    changed.election.advert_interval = 2s;
    changed.election.preempt = false;
    changed.vips.push_back(*parse_prefix("10.0.0.101/24"));
    changed.election.virtual_addresses.push_back(changed.vips.back().address);
    auto prepared = f.set.prepare({changed});
    REQUIRE(prepared.has_value());
    f.set.commit(std::move(*prepared));
    auto after = f.set.status()[0];
    CHECK(after.configured_priority == 120);
    CHECK(after.advert_interval == 2s);
    CHECK(after.vips == changed.vips);
    CHECK(after.since == before.since);
    CHECK(after.transitions == before.transitions);
}

TEST_CASE("a prepared reload dropped uncommitted leaves the running set as it was") {
    fixture f;
    auto running = spec("VI_1", "eth9", 51);
    REQUIRE_FALSE(f.set.start({running}));
    {
        auto changed = running;
        changed.election.priority = 120;
        auto prepared = f.set.prepare({changed});
        REQUIRE(prepared.has_value());
    }
    CHECK(f.set.status()[0].configured_priority == 100);
}
