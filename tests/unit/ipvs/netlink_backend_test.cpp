#include "ipvs/netlink_backend.hpp"

#include <doctest/doctest.h>

#include <filesystem>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

TEST_CASE("asking for netlink on a kernel without IPVS is a clear error, never a fallback") {
    if (std::filesystem::exists("/proc/net/ip_vs")) {
        MESSAGE("this kernel has IPVS; the refusal is covered by hosts without it");
        return;
    }
    auto opened = netlink_backend::open();
    CHECK_FALSE(opened.backend);
    CHECK(opened.error.find("the kernel has no IPVS") != std::string::npos);
    CHECK(opened.error.find("modprobe ip_vs") != std::string::npos);
}
