#include "vrrp/announcement_packets.hpp"

#include <doctest/doctest.h>

#include "golden_vectors.hpp"

#include <fstream>
#include <string>
#include <vector>

using namespace vigil::vrrp;

namespace {

using test::bytes;
using test::from_hex;

// The whole frame from the "# frame (N bytes): <hex>" line of a golden vector.
bytes load_frame(const std::string& name) {
    std::ifstream in(test::vector_path(name));
    REQUIRE_MESSAGE(in, "missing golden vector " << name);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# frame", 0) == 0) {
            return from_hex(line.substr(line.find("): ") + 3));
        }
    }
    FAIL("no frame line in " << name);
    return {};
}

const mac_address keepalived_mac{0x56, 0x26, 0xdc, 0x71, 0xec, 0x9f};

boost::asio::ip::address_v6 v6(const char* text) {
    return boost::asio::ip::make_address_v6(text);
}

}  // namespace

TEST_CASE("the gratuitous ARP frame is byte for byte what keepalived sends") {
    auto expected = load_frame("garp.hex");
    REQUIRE(expected.size() == gratuitous_arp_frame_size);
    auto frame =
        gratuitous_arp_frame(keepalived_mac, boost::asio::ip::make_address_v4("10.99.0.100"));
    CHECK(bytes(frame.begin(), frame.end()) == expected);
}

TEST_CASE("a gratuitous ARP is a broadcast request whose sender and target IP are the VIP") {
    const mac_address mac{0x02, 0x00, 0x5e, 0x00, 0x01, 0x33};
    auto frame = gratuitous_arp_frame(mac, boost::asio::ip::make_address_v4("192.0.2.200"));
    const bytes broadcast(6, 0xff);
    const bytes vip{192, 0, 2, 200};
    CHECK(bytes(frame.begin(), frame.begin() + 6) == broadcast);  // Ethernet destination
    CHECK(bytes(frame.begin() + 6, frame.begin() + 12) == bytes(mac.begin(), mac.end()));
    CHECK((frame[12] == 0x08 && frame[13] == 0x06));  // ethertype ARP
    CHECK((frame[14] == 0 && frame[15] == 1));        // hardware Ethernet
    CHECK((frame[16] == 0x08 && frame[17] == 0x00));  // protocol IPv4
    CHECK((frame[18] == 6 && frame[19] == 4));        // address lengths
    CHECK((frame[20] == 0 && frame[21] == 1));        // request
    CHECK(bytes(frame.begin() + 22, frame.begin() + 28) == bytes(mac.begin(), mac.end()));
    CHECK(bytes(frame.begin() + 28, frame.begin() + 32) == vip);        // sender IP
    CHECK(bytes(frame.begin() + 32, frame.begin() + 38) == broadcast);  // target MAC
    CHECK(bytes(frame.begin() + 38, frame.begin() + 42) == vip);        // target IP
}

TEST_CASE("an unsolicited NA overrides, is not solicited and carries the target's MAC") {
    auto target = v6("fd00:99::100");
    auto na = unsolicited_neighbour_advert(keepalived_mac, target, false);
    CHECK(na[0] == 136);                // neighbour advertisement
    CHECK(na[1] == 0);                  // code
    CHECK((na[2] == 0 && na[3] == 0));  // checksum left to the kernel
    CHECK(na[4] == 0x20);               // Override only: Router and Solicited clear
    CHECK((na[5] == 0 && na[6] == 0 && na[7] == 0));
    auto t = target.to_bytes();
    CHECK(bytes(na.begin() + 8, na.begin() + 24) == bytes(t.begin(), t.end()));
    CHECK(na[24] == 2);  // target link-layer address option
    CHECK(na[25] == 1);  // one 8-octet unit
    CHECK(bytes(na.begin() + 26, na.end()) == bytes(keepalived_mac.begin(), keepalived_mac.end()));
}

TEST_CASE("the NA Router flag follows whether the interface forwards IPv6") {
    auto router = unsolicited_neighbour_advert(keepalived_mac, v6("fd00:99::100"), true);
    auto host = unsolicited_neighbour_advert(keepalived_mac, v6("fd00:99::100"), false);
    CHECK(router[4] == 0xa0);  // Router and Override, Solicited clear
    CHECK(host[4] == 0x20);    // Override only
    // The R bit is the only difference between the two messages.
    router[4] = host[4];
    CHECK(router == host);
}

TEST_CASE("the NA is sent to all nodes with hop limit 255") {
    CHECK(all_nodes_multicast() == v6("ff02::1"));
    CHECK(neighbour_advert_hop_limit == 255);
}

TEST_CASE("the ICMPv6 checksum of an NA covers the IPv6 pseudo-header") {
    auto vip = v6("fd00:99::100");
    auto na = unsolicited_neighbour_advert(keepalived_mac, vip, false);
    // keepalived sends the NA from the VIP itself to ff02::1. Known answer computed independently
    // (RFC 1071 over RFC 8200 8.1 pseudo-header) for this exact message.
    CHECK(icmpv6_checksum(na, vip, all_nodes_multicast()) == 0x3a34);
    fill_icmpv6_checksum(na, vip, all_nodes_multicast());
    CHECK((na[2] == 0x3a && na[3] == 0x34));
    // A complete message verifies to zero from the right addresses only.
    CHECK(icmpv6_checksum(na, vip, all_nodes_multicast()) == 0);
    CHECK(icmpv6_checksum(na, v6("fe80::1"), all_nodes_multicast()) != 0);
    CHECK(icmpv6_checksum(na, vip, v6("ff02::2")) != 0);

    auto router = unsolicited_neighbour_advert(keepalived_mac, vip, true);
    fill_icmpv6_checksum(router, vip, all_nodes_multicast());
    CHECK((router[2] == 0xba && router[3] == 0x33));
}

TEST_CASE("the unsolicited NA is byte for byte what keepalived sends for an IPv6 VIP") {
    // Captured by tests/data/vrrp/capture.py: keepalived sends it from the VIP to ff02::1 with
    // only the Override flag (the interface does not forward) and the target link-layer option.
    auto frame = load_frame("unsolicited-na.hex");
    REQUIRE(frame.size() == 86);
    mac_address mac{};
    std::copy(frame.begin() + 6, frame.begin() + 12, mac.begin());
    auto vip = boost::asio::ip::make_address_v6("fd00:99::100");
    auto message = unsolicited_neighbour_advert(mac, vip, false);
    fill_icmpv6_checksum(message, vip, all_nodes_multicast());
    bytes captured(frame.begin() + 54, frame.end());
    CHECK(bytes(message.begin(), message.end()) == captured);
    // The frame's IPv6 header: from the VIP, to all nodes, hop limit 255.
    CHECK(frame[21] == 255);
    CHECK(std::equal(frame.begin() + 22, frame.begin() + 38, vip.to_bytes().begin()));
}
