#include "ipvs/netlink_message.hpp"

#include <doctest/doctest.h>

#include "netlink_kernel_replies.hpp"

using namespace vigil::ipvs;
using namespace vigil::ipvs::netlink;
using namespace vigil::ipvs::test;

namespace {

byte_view view(const wire& w) {
    return {w.data(), w.size()};
}

}  // namespace

TEST_CASE("a request is its headers and 4-byte padded attributes, byte for byte") {
    message_builder m(0x1d, 5, 1, NLM_F_ACK);
    m.put_u16(1, 2);
    auto nest = m.begin_nest(3);
    m.put_string(2, "rr");
    m.put_u8(4, 9);
    m.end_nest(nest);
    auto built = std::move(m).finish();
    REQUIRE(built);

    wire attributes = cat({attr(1, u16v(2)), attr(3, cat({attr(2, str("rr")), attr(4, u8v(9))}))});
    wire expected = cat({header(static_cast<std::uint32_t>(20 + attributes.size()), 0x1d,
                                NLM_F_REQUEST | NLM_F_ACK, 0),
                         raw({5, 1, 0, 0}), attributes});
    CHECK(*built == expected);
    CHECK(built->size() % 4 == 0);
}

TEST_CASE("the transport's stamp sets sequence number and port and nothing else") {
    auto built = message_builder(0x1d, 1, 1, 0).finish();
    REQUIRE(built);
    auto before = *built;
    stamp(*built, 0x01020304, 77);
    CHECK(sequence_of(*built) == 0x01020304);
    wire expected = before;
    wire fields = cat({u32v(0x01020304), u32v(77)});
    std::copy(fields.begin(), fields.end(), expected.begin() + 8);
    CHECK(*built == expected);
}

TEST_CASE("an attribute or nest longer than a 16-bit length holds cannot be encoded") {
    std::vector<std::uint8_t> huge(70000, 'x');
    message_builder flat(0x1d, 1, 1, 0);
    flat.put_bytes(1, huge);
    CHECK_FALSE(std::move(flat).finish());

    message_builder nested(0x1d, 1, 1, 0);
    auto nest = nested.begin_nest(1);
    for (int i = 0; i < 2; ++i) {
        nested.put_bytes(2, std::vector<std::uint8_t>(40000, 'y'));
    }
    nested.end_nest(nest);
    CHECK_FALSE(std::move(nested).finish());
}

TEST_CASE("one datagram holds data, done and error messages, the last possibly unpadded") {
    wire attrs = attr(1, raw({0xaa}));  // 5 bytes of attribute, padded to 8
    wire data = data_message(0x1d, 1, 7, attrs);
    wire datagram = cat({data, done_message(7), error_message(8, 0), error_message(9, 17)});
    auto replies = parse_replies(view(datagram));
    REQUIRE(replies);
    REQUIRE(replies->size() == 4);
    CHECK((*replies)[0].what == reply::kind::data);
    CHECK((*replies)[0].sequence == 7);
    CHECK((*replies)[0].command == 1);
    CHECK((*replies)[0].attributes.size() == attrs.size());
    CHECK((*replies)[1].what == reply::kind::done);
    CHECK((*replies)[1].error == 0);
    CHECK((*replies)[2].what == reply::kind::error);
    CHECK((*replies)[2].error == 0);
    CHECK((*replies)[3].error == 17);

    // A last message whose length leaves out its trailing padding.
    wire unpadded = header(21, 0x1d, 0, 3);
    unpadded.insert(unpadded.end(), {1, 1, 0, 0, 0xee});
    auto single = parse_replies(view(unpadded));
    REQUIRE(single);
    REQUIRE(single->size() == 1);
    CHECK((*single)[0].attributes.size() == 1);
}

TEST_CASE("a dump that fails mid-way reports the kernel's errno in NLMSG_DONE") {
    auto replies = parse_replies(view(done_message(4, 90)));
    REQUIRE(replies);
    REQUIRE(replies->size() == 1);
    CHECK((*replies)[0].what == reply::kind::done);
    CHECK((*replies)[0].error == 90);
}

TEST_CASE("a datagram with any malformed message is refused as a whole") {
    wire good = error_message(1, 0);
    SUBCASE("shorter than a header") {
        CHECK_FALSE(parse_replies(view(wire(good.begin(), good.begin() + 15))));
    }
    SUBCASE("a length below the header's own size") {
        wire w = good;
        w[0] = 15;
        CHECK_FALSE(parse_replies(view(w)));
    }
    SUBCASE("a length past the datagram's end") {
        wire w = good;
        w[0] = static_cast<std::uint8_t>(good.size() + 4);
        CHECK_FALSE(parse_replies(view(w)));
    }
    SUBCASE("an error without the request's header") {
        wire w = header(20, NLMSG_ERROR, 0, 1);
        append_u32(w, 0);
        CHECK_FALSE(parse_replies(view(w)));
    }
    SUBCASE("a positive errno") {
        wire w = good;
        w[16] = 5;
        CHECK_FALSE(parse_replies(view(w)));
    }
    SUBCASE("a done without its errno") {
        CHECK_FALSE(parse_replies(view(header(16, NLMSG_DONE, 0, 1))));
    }
    SUBCASE("a data message without a genl header") {
        wire w = cat({header(18, 0x1d, 0, 1), raw({1, 1})});
        CHECK_FALSE(parse_replies(view(w)));
    }
    SUBCASE("an overrun notice") {
        CHECK_FALSE(parse_replies(view(header(16, NLMSG_OVERRUN, 0, 1))));
    }
    SUBCASE("a good message followed by a truncated one") {
        wire w = cat({good, wire(good.begin(), good.begin() + 20)});
        CHECK_FALSE(parse_replies(view(w)));
    }
}

TEST_CASE("every truncation of a valid datagram parses to fewer messages or is refused") {
    wire datagram = cat({data_message(0x1d, 1, 2, attr(1, u32v(5))), done_message(2)});
    for (std::size_t n = 0; n < datagram.size(); ++n) {
        auto replies = parse_replies(byte_view(datagram.data(), n));
        if (replies) {
            CHECK(replies->size() < 2);
        }
    }
}

TEST_CASE("attributes are found by type, flags masked, unknown types ignored, last one wins") {
    wire attrs =
        cat({attr(1, u16v(10)), attr(static_cast<std::uint16_t>(NLA_F_NESTED | 2), u32v(20)),
             attr(40, u32v(1)), attr(1, u16v(11))});
    auto set = attribute_set::parse(view(attrs), 3);
    REQUIRE(set);
    CHECK(read_u16(*set->find(1)) == 11);
    CHECK(read_u32(*set->find(2)) == 20);
    CHECK_FALSE(set->has(3));
    CHECK_FALSE(set->has(40));
}

TEST_CASE("attribute lengths that do not add up are refused") {
    SUBCASE("a length below the attribute header") {
        CHECK_FALSE(attribute_set::parse(view(raw({2, 0, 1, 0})), 4));
    }
    SUBCASE("a length past the end") {
        CHECK_FALSE(attribute_set::parse(view(raw({12, 0, 1, 0, 1, 2, 3, 4})), 4));
    }
    SUBCASE("trailing bytes shorter than a header") {
        CHECK_FALSE(attribute_set::parse(view(cat({attr(1, u32v(1)), raw({4, 0})})), 4));
    }
    SUBCASE("an empty set is fine") {
        CHECK(attribute_set::parse({}, 4));
    }
}

TEST_CASE("fixed-size values are read only at exactly their size") {
    CHECK(read_u8(view(u8v(7))) == 7);
    CHECK(read_u16(view(u16v(0x1234))) == 0x1234);
    CHECK(read_u32(view(u32v(0xdeadbeef))) == 0xdeadbeef);
    CHECK(read_u64(view(u64v(1ULL << 40))) == (1ULL << 40));
    CHECK_FALSE(read_u16(view(u8v(7))));
    CHECK_FALSE(read_u32(view(u64v(1))));
    CHECK_FALSE(read_u64(view(u32v(1))));
    CHECK(read_string(view(str("wlc"))) == "wlc");
    CHECK(read_string(view(raw({'s', 'h'}))) == "sh");
    CHECK(read_string({}).empty());
}
