#include "ipvs/state_file.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

TEST_CASE("the state file survives a round trip and refuses garbage with its line") {
    auto dir =
        std::filesystem::temp_directory_path() / ("vigil-state-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto file = dir / "sub" / "owned";
    CHECK(load_owned(file)->empty());  // first start: no file
    std::set<service_key> owned{service_key::for_address(protocol::tcp, ep("192.0.2.1:80")),
                                service_key::for_fwmark(3, address_family::ipv6)};
    REQUIRE(save_owned(file, owned).empty());
    CHECK(*load_owned(file) == owned);
    {
        std::ofstream out(file, std::ios::app);
        out << "tcp nonsense\n";
    }
    auto bad = load_owned(file);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().find(":4: not a service") != std::string::npos);
    std::filesystem::remove_all(dir);
}
