#include "vrrp/packet.hpp"

#include <doctest/doctest.h>

#include "golden_vectors.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace vigil;
using namespace vigil::vrrp;
using namespace std::chrono_literals;

namespace {

using test::bytes;
using test::from_hex;

ip_address addr(const char* text) {
    return boost::asio::ip::make_address(text);
}

// One golden vector from tests/data/vrrp/*.hex, captured from keepalived (see the .txt beside it).
struct capture {
    bytes vrrp;   // the VRRP payload
    bytes frame;  // the whole Ethernet frame
    ip_address source;
    ip_address destination;
    int ttl = 0;
};

capture load(const std::string& name) {
    std::ifstream in(test::vector_path(name));
    REQUIRE_MESSAGE(in, "missing golden vector " << name);
    capture c;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("vrrp ", 0) == 0) {
            c.vrrp = from_hex(line.substr(5));
        } else if (line.rfind("# frame", 0) == 0) {
            c.frame = from_hex(line.substr(line.find("): ") + 3));
        } else if (line.rfind("# ipv4 ", 0) == 0 || line.rfind("# ipv6 ", 0) == 0) {
            std::istringstream fields(line.substr(7));
            std::string field;
            while (fields >> field) {
                auto eq = field.find('=');
                auto key = field.substr(0, eq);
                auto value = field.substr(eq + 1);
                if (key == "src") {
                    c.source = addr(value.c_str());
                } else if (key == "dst") {
                    c.destination = addr(value.c_str());
                } else if (key == "ttl" || key == "hlim") {
                    c.ttl = std::stoi(value);
                }
            }
        }
    }
    REQUIRE(!c.vrrp.empty());
    return c;
}

const char* const advert_captures[] = {
    "vrrpv2-advert.hex",      "vrrpv2-prio0.hex",         "vrrpv2-advert-authpass-2vips.hex",
    "vrrpv3-advert.hex",      "vrrpv3-advert-adv0.1.hex", "vrrpv3-prio0.hex",
    "vrrpv3-advert-ipv6.hex", "vrrpv3-unicast.hex",       "vrrpv2-unicast.hex",
};

advert decoded(const capture& c) {
    auto r = decode(c.vrrp, c.source, c.destination);
    REQUIRE_MESSAGE(r.has_value(), "decode failed: " << to_string(r.error()));
    return *r;
}

const std::array<std::uint8_t, 8> no_auth{};

}  // namespace

TEST_CASE("keepalived's VRRPv2 advert decodes to every field it carries") {
    auto a = decoded(load("vrrpv2-advert.hex"));
    CHECK(a.version == protocol_version::v2);
    CHECK(a.virtual_router_id == 51);
    CHECK(a.priority == 150);
    CHECK(a.max_advert_interval == 1);
    CHECK(advert_interval(a) == 1s);
    CHECK(a.addresses == std::vector<ip_address>{addr("10.99.0.100")});
    CHECK(a.auth_type == auth_type_none);
    CHECK(a.auth_data == no_auth);
}

TEST_CASE("keepalived's VRRPv2 resignation advert carries priority 0") {
    auto a = decoded(load("vrrpv2-prio0.hex"));
    CHECK(a.version == protocol_version::v2);
    CHECK(a.virtual_router_id == 51);
    CHECK(a.priority == 0);
    CHECK(advert_interval(a) == 1s);
    CHECK(a.addresses == std::vector<ip_address>{addr("10.99.0.100")});
    CHECK(a.auth_type == auth_type_none);
    CHECK(a.auth_data == no_auth);
}

TEST_CASE("VRRPv2 PASS authentication and a two-address list decode as sent") {
    auto a = decoded(load("vrrpv2-advert-authpass-2vips.hex"));
    CHECK(a.version == protocol_version::v2);
    CHECK(a.virtual_router_id == 51);
    CHECK(a.priority == 150);
    CHECK(advert_interval(a) == 1s);
    CHECK(a.addresses == std::vector<ip_address>{addr("10.99.0.100"), addr("10.99.0.101")});
    CHECK(a.auth_type == auth_type_simple_text);
    const std::array<std::uint8_t, 8> secret{'s', 'e', 'c', 'r', 'e', 't', '1', '2'};
    CHECK(a.auth_data == secret);
}

TEST_CASE("VRRPv3 carries the advert interval in centiseconds") {
    auto one_second = decoded(load("vrrpv3-advert.hex"));
    CHECK(one_second.version == protocol_version::v3);
    CHECK(one_second.virtual_router_id == 51);
    CHECK(one_second.priority == 150);
    CHECK(one_second.max_advert_interval == 100);
    CHECK(advert_interval(one_second) == 1s);
    CHECK(one_second.addresses == std::vector<ip_address>{addr("10.99.0.100")});
    CHECK(one_second.auth_type == 0);
    CHECK(one_second.auth_data == no_auth);

    auto tenth = decoded(load("vrrpv3-advert-adv0.1.hex"));
    CHECK(tenth.max_advert_interval == 10);
    CHECK(advert_interval(tenth) == 100ms);
    CHECK(tenth.priority == 150);
    CHECK(tenth.addresses == std::vector<ip_address>{addr("10.99.0.100")});
}

TEST_CASE("keepalived's VRRPv3 resignation advert carries priority 0") {
    auto a = decoded(load("vrrpv3-prio0.hex"));
    CHECK(a.version == protocol_version::v3);
    CHECK(a.virtual_router_id == 51);
    CHECK(a.priority == 0);
    CHECK(advert_interval(a) == 1s);
    CHECK(a.addresses == std::vector<ip_address>{addr("10.99.0.100")});
}

TEST_CASE("a VRRPv3 IPv6 advert from a link-local source lists the configured VIP") {
    auto c = load("vrrpv3-advert-ipv6.hex");
    CHECK(c.source == addr("fe80::5426:dcff:fe71:ec9f"));
    CHECK(c.destination == addr("ff02::12"));
    auto a = decoded(c);
    CHECK(a.version == protocol_version::v3);
    CHECK(a.virtual_router_id == 51);
    CHECK(a.priority == 150);
    CHECK(advert_interval(a) == 1s);
    // keepalived lists the VIPs as configured (here a ULA), not a link-local address.
    CHECK(a.addresses == std::vector<ip_address>{addr("fd00:99::100")});
    CHECK(a.auth_type == 0);
}

TEST_CASE("a unicast VRRPv3 advert's checksum covers the peer's address, not the group") {
    auto c = load("vrrpv3-unicast.hex");
    CHECK(c.destination == addr("10.99.0.2"));
    auto a = decoded(c);
    CHECK(a.version == protocol_version::v3);
    CHECK(a.virtual_router_id == 51);
    CHECK(a.priority == 150);
    CHECK(a.addresses == std::vector<ip_address>{addr("10.99.0.100")});
    auto as_multicast = decode(c.vrrp, c.source, addr("224.0.0.18"));
    REQUIRE_FALSE(as_multicast.has_value());
    CHECK(as_multicast.error() == decode_error::bad_checksum);
}

TEST_CASE("a unicast VRRPv2 advert decodes as a multicast one does") {
    auto c = load("vrrpv2-unicast.hex");
    CHECK(c.destination == addr("10.99.0.2"));
    auto a = decoded(c);
    CHECK(a.version == protocol_version::v2);
    CHECK(a.max_advert_interval == 1);
    // VRRPv2's checksum does not cover addresses, so any destination decodes.
    CHECK(decode(c.vrrp, c.source, addr("224.0.0.18")).has_value());
}

TEST_CASE("every captured advert re-encodes to the captured bytes") {
    for (const char* name : advert_captures) {
        CAPTURE(name);
        auto c = load(name);
        auto a = decoded(c);
        CHECK(encode(a, c.source, c.destination) == c.vrrp);
    }
}

TEST_CASE("an advert built from configuration encodes exactly as keepalived's") {
    advert v3;
    v3.version = protocol_version::v3;
    v3.virtual_router_id = 51;
    v3.priority = 150;
    REQUIRE(wire_advert_interval(protocol_version::v3, 1s));
    v3.max_advert_interval = *wire_advert_interval(protocol_version::v3, 1s);
    v3.addresses = {addr("10.99.0.100")};
    auto c3 = load("vrrpv3-advert.hex");
    CHECK(encode(v3, c3.source, c3.destination) == c3.vrrp);

    advert v2;
    v2.version = protocol_version::v2;
    v2.virtual_router_id = 51;
    v2.priority = 150;
    v2.max_advert_interval = *wire_advert_interval(protocol_version::v2, 1s);
    v2.addresses = {addr("10.99.0.100"), addr("10.99.0.101")};
    v2.auth_type = auth_type_simple_text;
    v2.auth_data = {'s', 'e', 'c', 'r', 'e', 't', '1', '2'};
    auto c2 = load("vrrpv2-advert-authpass-2vips.hex");
    CHECK(encode(v2, c2.source, c2.destination) == c2.vrrp);

    advert v6 = v3;
    v6.addresses = {addr("fd00:99::100")};
    auto c6 = load("vrrpv3-advert-ipv6.hex");
    CHECK(encode(v6, c6.source, c6.destination) == c6.vrrp);
}

TEST_CASE("VRRPv2 always carries eight authentication bytes, zero without authentication") {
    advert a;
    a.version = protocol_version::v2;
    a.virtual_router_id = 1;
    a.priority = 100;
    a.max_advert_interval = 1;
    a.addresses = {addr("192.0.2.1")};
    auto out = encode(a, addr("192.0.2.10"), addr("224.0.0.18"));
    REQUIRE(out.size() == header_size + 4 + v2_auth_data_size);
    CHECK(std::all_of(out.end() - 8, out.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST_CASE("the VRRPv2 checksum covers the message only, not the IP addresses") {
    auto c = load("vrrpv2-advert.hex");
    CHECK(decode(c.vrrp, addr("192.0.2.77"), addr("192.0.2.78")).has_value());
    CHECK(encode(decoded(c), addr("192.0.2.77"), addr("192.0.2.78")) == c.vrrp);
}

TEST_CASE("the VRRPv3 checksum covers the IP pseudo-header: another source or destination fails") {
    auto c4 = load("vrrpv3-advert.hex");
    auto r = decode(c4.vrrp, addr("10.99.0.2"), c4.destination);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == decode_error::bad_checksum);
    // A unicast advert is checksummed with the peer as destination, so the multicast checksum
    // fails.
    r = decode(c4.vrrp, c4.source, addr("10.99.0.2"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == decode_error::bad_checksum);

    auto c6 = load("vrrpv3-advert-ipv6.hex");
    r = decode(c6.vrrp, addr("fe80::1"), c6.destination);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == decode_error::bad_checksum);
    r = decode(c6.vrrp, c6.source, addr("ff02::1"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == decode_error::bad_checksum);
}

TEST_CASE("the pseudo-header checksum of a captured VRRPv3 advert verifies to zero") {
    for (const char* name : {"vrrpv3-advert.hex", "vrrpv3-advert-adv0.1.hex", "vrrpv3-prio0.hex",
                             "vrrpv3-advert-ipv6.hex"}) {
        CAPTURE(name);
        auto c = load(name);
        CHECK(pseudo_header_checksum(c.source, c.destination, ip_protocol_vrrp, c.vrrp) == 0);
        auto zeroed = c.vrrp;
        zeroed[6] = zeroed[7] = 0;
        auto sum = pseudo_header_checksum(c.source, c.destination, ip_protocol_vrrp, zeroed);
        CHECK(sum == (c.vrrp[6] << 8 | c.vrrp[7]));
    }
}

TEST_CASE("VRRPv3 reserved bits are ignored on reception and sent as zero") {
    auto c = load("vrrpv3-advert.hex");
    auto packet = c.vrrp;
    packet[4] |= 0xf0;
    // Refresh the checksum so only the reserved bits differ.
    packet[6] = packet[7] = 0;
    auto sum = pseudo_header_checksum(c.source, c.destination, ip_protocol_vrrp, packet);
    packet[6] = static_cast<std::uint8_t>(sum >> 8);
    packet[7] = static_cast<std::uint8_t>(sum & 0xff);
    auto r = decode(packet, c.source, c.destination);
    REQUIRE(r.has_value());
    CHECK(r->max_advert_interval == 100);
    CHECK(encode(*r, c.source, c.destination) == c.vrrp);
}

TEST_CASE("a VRRPv2 advert without addresses is accepted, as keepalived sends one without VIPs") {
    advert a;
    a.version = protocol_version::v2;
    a.virtual_router_id = 7;
    a.priority = 100;
    a.max_advert_interval = 1;
    auto out = encode(a, addr("192.0.2.10"), addr("224.0.0.18"));
    REQUIRE(out.size() == header_size + v2_auth_data_size);
    auto r = decode(out, addr("192.0.2.10"), addr("224.0.0.18"));
    REQUIRE(r.has_value());
    CHECK(*r == a);
}

TEST_CASE("advert intervals convert between durations and wire units") {
    CHECK(wire_advert_interval(protocol_version::v2, 1s) == 1);
    CHECK(wire_advert_interval(protocol_version::v2, 255s) == 255);
    CHECK_FALSE(wire_advert_interval(protocol_version::v2, 1500ms));
    CHECK_FALSE(wire_advert_interval(protocol_version::v2, 256s));
    CHECK(wire_advert_interval(protocol_version::v3, 100ms) == 10);
    CHECK(wire_advert_interval(protocol_version::v3, 40950ms) == 4095);
    CHECK_FALSE(wire_advert_interval(protocol_version::v3, 15ms));
    CHECK_FALSE(wire_advert_interval(protocol_version::v3, 0ms));

    advert a;
    a.version = protocol_version::v3;
    a.max_advert_interval = 4095;
    CHECK(advert_interval(a) == 40950ms);
    a.version = protocol_version::v2;
    a.max_advert_interval = 255;
    CHECK(advert_interval(a) == 255s);
}

TEST_CASE("decode errors have stable names") {
    CHECK(to_string(decode_error::too_short) == "too_short");
    CHECK(to_string(decode_error::bad_version) == "bad_version");
    CHECK(to_string(decode_error::bad_type) == "bad_type");
    CHECK(to_string(decode_error::v2_over_ipv6) == "v2_over_ipv6");
    CHECK(to_string(decode_error::address_family_mismatch) == "address_family_mismatch");
    CHECK(to_string(decode_error::bad_length) == "bad_length");
    CHECK(to_string(decode_error::bad_checksum) == "bad_checksum");
    CHECK(to_string(decode_error::no_addresses) == "no_addresses");
    CHECK(to_string(ipv4_error::too_short) == "ip_too_short");
    CHECK(to_string(ipv4_error::bad_version) == "ip_bad_version");
    CHECK(to_string(ipv4_error::bad_header_length) == "ip_bad_header_length");
    CHECK(to_string(ipv4_error::bad_total_length) == "ip_bad_total_length");
    CHECK(to_string(ipv4_error::not_vrrp) == "ip_not_vrrp");
}

TEST_CASE("a packet truncated at any length is too short or of bad length") {
    for (const char* name : advert_captures) {
        auto c = load(name);
        for (std::size_t n = 0; n < c.vrrp.size(); ++n) {
            CAPTURE(name);
            CAPTURE(n);
            auto r = decode(std::span(c.vrrp).first(n), c.source, c.destination);
            REQUIRE_FALSE(r.has_value());
            CHECK(r.error() ==
                  (n < header_size ? decode_error::too_short : decode_error::bad_length));
        }
    }
}

TEST_CASE("any single flipped bit outside version, type and count fails the checksum") {
    for (const char* name : advert_captures) {
        auto c = load(name);
        for (std::size_t byte = 1; byte < c.vrrp.size(); ++byte) {
            if (byte == 3) {
                continue;  // the count: a length error, covered by the table
            }
            for (int bit = 0; bit < 8; ++bit) {
                CAPTURE(name);
                CAPTURE(byte);
                CAPTURE(bit);
                auto packet = c.vrrp;
                packet[byte] ^= static_cast<std::uint8_t>(1u << bit);
                auto r = decode(packet, c.source, c.destination);
                REQUIRE_FALSE(r.has_value());
                CHECK(r.error() == decode_error::bad_checksum);
            }
        }
    }
}

TEST_CASE("malformed packets are dropped with the reason that names the fault") {
    auto v2 = load("vrrpv2-advert.hex");
    auto v2pass = load("vrrpv2-advert-authpass-2vips.hex");
    auto v3 = load("vrrpv3-advert.hex");
    auto v6 = load("vrrpv3-advert-ipv6.hex");
    auto with = [](bytes b, std::size_t i, std::uint8_t value) {
        b[i] = value;
        return b;
    };
    auto plus = [](bytes b, bytes extra) {
        b.insert(b.end(), extra.begin(), extra.end());
        return b;
    };
    advert empty_v3;
    empty_v3.version = protocol_version::v3;
    empty_v3.virtual_router_id = 51;
    empty_v3.priority = 100;
    empty_v3.max_advert_interval = 100;

    struct row {
        const char* rule;
        bytes packet;
        ip_address source;
        ip_address destination;
        decode_error expected;
    };
    const row rows[] = {
        {"empty payload", {}, v3.source, v3.destination, decode_error::too_short},
        {"header cut at 7 bytes", bytes(v3.vrrp.begin(), v3.vrrp.begin() + 7), v3.source,
         v3.destination, decode_error::too_short},
        {"version 0", with(v3.vrrp, 0, 0x01), v3.source, v3.destination, decode_error::bad_version},
        {"version 1", with(v3.vrrp, 0, 0x11), v3.source, v3.destination, decode_error::bad_version},
        {"version 4", with(v3.vrrp, 0, 0x41), v3.source, v3.destination, decode_error::bad_version},
        {"version 15", with(v3.vrrp, 0, 0xf1), v3.source, v3.destination,
         decode_error::bad_version},
        {"type 0", with(v3.vrrp, 0, 0x30), v3.source, v3.destination, decode_error::bad_type},
        {"type 2", with(v2.vrrp, 0, 0x22), v2.source, v2.destination, decode_error::bad_type},
        {"type 15", with(v6.vrrp, 0, 0x3f), v6.source, v6.destination, decode_error::bad_type},
        {"v2 over IPv6", v2.vrrp, v6.source, v6.destination, decode_error::v2_over_ipv6},
        {"IPv4 source, IPv6 destination", v3.vrrp, v3.source, v6.destination,
         decode_error::address_family_mismatch},
        {"IPv6 source, IPv4 destination", v6.vrrp, v6.source, v3.destination,
         decode_error::address_family_mismatch},
        {"v3 IPv4 advert read as IPv6", v3.vrrp, v6.source, v6.destination,
         decode_error::bad_length},
        {"v3 IPv6 advert read as IPv4", v6.vrrp, v3.source, v3.destination,
         decode_error::bad_length},
        {"v3 advert relabelled v2 lacks the auth bytes", with(v3.vrrp, 0, 0x21), v3.source,
         v3.destination, decode_error::bad_length},
        {"v2 count larger than the list", with(v2.vrrp, 3, 2), v2.source, v2.destination,
         decode_error::bad_length},
        {"v2 count smaller than the list", with(v2pass.vrrp, 3, 1), v2pass.source,
         v2pass.destination, decode_error::bad_length},
        {"v2 count 0 with an address present", with(v2.vrrp, 3, 0), v2.source, v2.destination,
         decode_error::bad_length},
        {"v3 count larger than the list", with(v3.vrrp, 3, 2), v3.source, v3.destination,
         decode_error::bad_length},
        {"v3 count 255", with(v3.vrrp, 3, 255), v3.source, v3.destination,
         decode_error::bad_length},
        {"v3 count 0 with an address present", with(v3.vrrp, 3, 0), v3.source, v3.destination,
         decode_error::bad_length},
        {"v6 count larger than the list", with(v6.vrrp, 3, 2), v6.source, v6.destination,
         decode_error::bad_length},
        {"v2 trailing byte", plus(v2.vrrp, {0}), v2.source, v2.destination,
         decode_error::bad_length},
        {"v3 trailing garbage", plus(v3.vrrp, {0xde, 0xad}), v3.source, v3.destination,
         decode_error::bad_length},
        {"v3 a trailing address the count does not include", plus(v3.vrrp, {10, 99, 0, 101}),
         v3.source, v3.destination, decode_error::bad_length},
        {"v6 trailing garbage", plus(v6.vrrp, {0}), v6.source, v6.destination,
         decode_error::bad_length},
        {"v2 checksum bit flipped", with(v2.vrrp, 7, v2.vrrp[7] ^ 0x01), v2.source, v2.destination,
         decode_error::bad_checksum},
        {"v3 checksum bit flipped", with(v3.vrrp, 6, v3.vrrp[6] ^ 0x80), v3.source, v3.destination,
         decode_error::bad_checksum},
        {"v6 checksum bit flipped", with(v6.vrrp, 7, v6.vrrp[7] ^ 0x10), v6.source, v6.destination,
         decode_error::bad_checksum},
        {"v2 checksum zeroed", with(with(v2.vrrp, 6, 0), 7, 0), v2.source, v2.destination,
         decode_error::bad_checksum},
        {"v2 priority changed without a new checksum", with(v2.vrrp, 2, 255), v2.source,
         v2.destination, decode_error::bad_checksum},
        {"v2 password changed without a new checksum", with(v2pass.vrrp, 23, '3'), v2pass.source,
         v2pass.destination, decode_error::bad_checksum},
        {"v3 without addresses", encode(empty_v3, v3.source, v3.destination), v3.source,
         v3.destination, decode_error::no_addresses},
    };
    for (const auto& r : rows) {
        CAPTURE(r.rule);
        auto result = decode(r.packet, r.source, r.destination);
        REQUIRE_FALSE(result.has_value());
        CHECK(to_string(result.error()) == to_string(r.expected));
    }
}

TEST_CASE("an advert that cannot be carried is refused, never sent malformed") {
    auto v4 = addr("192.0.2.10");
    auto group4 = addr("224.0.0.18");
    auto v6 = addr("fe80::1");
    auto group6 = addr("ff02::12");
    advert base;
    base.version = protocol_version::v3;
    base.virtual_router_id = 1;
    base.priority = 100;
    base.max_advert_interval = 100;
    base.addresses = {addr("192.0.2.1")};
    REQUIRE_FALSE(advert_encode_error(base, v4, group4));

    auto too_many = base;
    too_many.addresses.assign(256, addr("192.0.2.1"));
    auto wrong_family = base;
    wrong_family.addresses.push_back(addr("fd00::1"));
    auto v2_on_v6 = base;
    v2_on_v6.version = protocol_version::v2;
    v2_on_v6.addresses = {addr("fd00::1")};
    auto v2_interval = base;
    v2_interval.version = protocol_version::v2;
    v2_interval.max_advert_interval = 256;
    auto v3_interval = base;
    v3_interval.max_advert_interval = 4096;

    struct row {
        const char* rule;
        advert a;
        ip_address source;
        ip_address destination;
    };
    const row rows[] = {
        {"more than 255 addresses", too_many, v4, group4},
        {"an IPv6 address in an IPv4 advert", wrong_family, v4, group4},
        {"VRRPv2 over IPv6", v2_on_v6, v6, group6},
        {"a v2 interval over 255 s", v2_interval, v4, group4},
        {"a v3 interval over 4095 cs", v3_interval, v4, group4},
        {"source and destination of different families", base, v4, group6},
    };
    for (const auto& r : rows) {
        CAPTURE(r.rule);
        CHECK(advert_encode_error(r.a, r.source, r.destination));
        CHECK(encode(r.a, r.source, r.destination).empty());
    }
    // 255 addresses is the most the count can say, and round-trips.
    auto most = base;
    most.addresses.assign(255, addr("192.0.2.1"));
    auto out = encode(most, v4, group4);
    CHECK(out.size() == header_size + 255 * 4);
    auto back = decode(out, v4, group4);
    REQUIRE(back.has_value());
    CHECK(*back == most);
}

TEST_CASE("an IPv4 datagram from a raw socket splits into addresses, TTL and VRRP payload") {
    for (const char* name : advert_captures) {
        CAPTURE(name);
        auto c = load(name);
        if (!c.source.is_v4()) {
            continue;  // IPv6 raw sockets deliver no header
        }
        auto datagram = std::span(c.frame).subspan(14);  // past the Ethernet header
        auto r = split_ipv4_datagram(datagram);
        REQUIRE(r.has_value());
        CHECK(ip_address(r->source) == c.source);
        CHECK(ip_address(r->destination) == c.destination);
        CHECK(r->ttl == 255);
        CHECK(bytes(r->payload.begin(), r->payload.end()) == c.vrrp);
        CHECK(r->payload.data() == datagram.data() + 20);
    }
}

TEST_CASE("an IPv4 header with options is skipped by its IHL") {
    auto c = load("vrrpv3-advert.hex");
    bytes datagram(c.frame.begin() + 14, c.frame.begin() + 34);
    datagram[0] = 0x46;                                         // IHL 6: one word of options
    datagram.insert(datagram.end(), {0x94, 0x04, 0x00, 0x00});  // router alert
    datagram.insert(datagram.end(), c.vrrp.begin(), c.vrrp.end());
    datagram[2] = 0;
    datagram[3] = static_cast<std::uint8_t>(datagram.size());
    auto r = split_ipv4_datagram(datagram);
    REQUIRE(r.has_value());
    CHECK(bytes(r->payload.begin(), r->payload.end()) == c.vrrp);
}

TEST_CASE("malformed IPv4 headers are refused with the reason that names the fault") {
    auto c = load("vrrpv2-advert.hex");
    const bytes good(c.frame.begin() + 14, c.frame.end());
    REQUIRE(split_ipv4_datagram(good).has_value());
    auto with = [&](std::size_t i, std::uint8_t value) {
        auto b = good;
        b[i] = value;
        return b;
    };
    struct row {
        const char* rule;
        bytes datagram;
        ipv4_error expected;
    };
    const row rows[] = {
        {"empty", {}, ipv4_error::too_short},
        {"19 bytes", bytes(good.begin(), good.begin() + 19), ipv4_error::too_short},
        {"version 6", with(0, 0x65), ipv4_error::bad_version},
        {"version 0", with(0, 0x05), ipv4_error::bad_version},
        {"IHL 4, shorter than a header", with(0, 0x44), ipv4_error::bad_header_length},
        {"IHL 0", with(0, 0x40), ipv4_error::bad_header_length},
        {"IHL 15, longer than the datagram",
         bytes{0x4f, 0, 0, 20, 0, 0, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18},
         ipv4_error::bad_header_length},
        {"total length above the bytes received", with(3, good[3] + 1),
         ipv4_error::bad_total_length},
        {"total length below the bytes received", with(3, good[3] - 1),
         ipv4_error::bad_total_length},
        {"datagram truncated after the header", bytes(good.begin(), good.begin() + 24),
         ipv4_error::bad_total_length},
        {"protocol AH (51)", with(9, 51), ipv4_error::not_vrrp},
        {"protocol UDP", with(9, 17), ipv4_error::not_vrrp},
    };
    for (const auto& r : rows) {
        CAPTURE(r.rule);
        auto result = split_ipv4_datagram(r.datagram);
        REQUIRE_FALSE(result.has_value());
        CHECK(to_string(result.error()) == to_string(r.expected));
    }
}
