#include "ipvs/names.hpp"

#include <doctest/doctest.h>

using namespace vigil::ipvs;

TEST_CASE("every IPVS scheduler name round-trips") {
    for (auto s : all_schedulers) {
        CHECK(parse_name(to_string(s), all_schedulers) == s);
    }
    CHECK(all_schedulers.size() == 13);
    CHECK_FALSE(parse_name("WRR", all_schedulers));
    CHECK_FALSE(parse_name("roundrobin", all_schedulers));
}

TEST_CASE("forwarding methods and protocols parse by name") {
    CHECK(parse_name("dr", all_forwardings) == forwarding::dr);
    CHECK(parse_name("sctp", all_protocols) == protocol::sctp);
    CHECK(static_cast<int>(protocol::udp) == 17);
    CHECK_FALSE(parse_name("icmp", all_protocols));
}
