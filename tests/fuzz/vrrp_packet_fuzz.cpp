// libFuzzer target for the VRRP codec. Beyond "does not crash", it checks the codec's contract:
// whatever decode accepts, encode reproduces byte for byte (the only bits it may change are the
// VRRPv3 reserved nibble, which receivers ignore and senders zero, and then the checksum over it),
// and the re-encoded packet decodes to the same advert.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "vrrp/packet.hpp"

using namespace vigil;
using namespace vigil::vrrp;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

struct endpoints {
    ip_address source;
    ip_address destination;
};

const std::vector<endpoints>& all_endpoints() {
    // Multicast and unicast IPv4 (the v3 checksum covers the destination), IPv6 multicast, and a
    // family mismatch, which must always be refused.
    static const std::vector<endpoints> list = {
        {boost::asio::ip::make_address("10.99.0.1"), boost::asio::ip::make_address("224.0.0.18")},
        {boost::asio::ip::make_address("10.99.0.1"), boost::asio::ip::make_address("10.99.0.2")},
        {boost::asio::ip::make_address("fe80::5426:dcff:fe71:ec9f"),
         boost::asio::ip::make_address("ff02::12")},
        {boost::asio::ip::make_address("10.99.0.1"), boost::asio::ip::make_address("ff02::12")},
    };
    return list;
}

void check_round_trip(std::span<const std::uint8_t> input, const endpoints& e) {
    auto decoded = decode(input, e.source, e.destination);
    if (!decoded.has_value()) {
        return;
    }
    if (e.source.is_v6() != e.destination.is_v6()) {
        fail("decode accepted mismatched address families");
    }
    const advert& a = *decoded;
    if (advert_encode_error(a, e.source, e.destination)) {
        fail("a decoded advert cannot be encoded");
    }
    auto encoded = encode(a, e.source, e.destination);
    if (encoded.size() != input.size()) {
        fail("encode changed the length");
    }
    bool reserved_set = a.version == protocol_version::v3 && (input[4] & 0xf0) != 0;
    for (std::size_t i = 0; i < input.size(); ++i) {
        bool may_differ = reserved_set && (i == 4 || i == 6 || i == 7);
        if (may_differ) {
            continue;
        }
        if (encoded[i] != input[i]) {
            fail("encode(decode(x)) != x");
        }
    }
    if (reserved_set && (encoded[4] != (input[4] & 0x0f))) {
        fail("the v3 reserved bits were not cleared");
    }
    auto again = decode(encoded, e.source, e.destination);
    if (!again.has_value() || !(*again == a)) {
        fail("decode(encode(a)) != a");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);
    for (const auto& e : all_endpoints()) {
        check_round_trip(input, e);
    }

    // The same bytes as a whole IPv4 datagram from a raw socket.
    auto datagram = split_ipv4_datagram(input);
    if (datagram.has_value()) {
        const auto& d = *datagram;
        std::size_t header = static_cast<std::size_t>(input[0] & 0x0f) * 4;
        if (d.payload.data() != input.data() + header || d.payload.size() != size - header) {
            fail("split payload is not the bytes after the header");
        }
        if (input[9] != ip_protocol_vrrp || (input[2] << 8 | input[3]) != static_cast<int>(size)) {
            fail("split accepted a header it should refuse");
        }
        check_round_trip(d.payload, {ip_address(d.source), ip_address(d.destination)});
    }
    return 0;
}
