#include "ipvs/netlink_backend.hpp"

#include <doctest/doctest.h>

#include "netlink_kernel_replies.hpp"
#include "netlink_socketpair.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint16_t ipvs_family = 0x1d;

struct fake_backend {
    fake_kernel kernel;
    netlink_backend backend;
    explicit fake_backend(netlink_limits limits = {.per_message = 50ms, .per_call = 1s})
        : kernel(limits, ipvs_family), backend(std::move(kernel.transport)) {}
};

wire kernel_service_entry(std::initializer_list<std::uint8_t> address, std::uint16_t port) {
    return attr(
        IPVS_CMD_ATTR_SERVICE,
        cat({attr(IPVS_SVC_ATTR_AF, u16v(AF_INET)), attr(IPVS_SVC_ATTR_PROTOCOL, u16v(6)),
             attr(IPVS_SVC_ATTR_ADDR, inet(address)), attr(IPVS_SVC_ATTR_PORT, be16v(port)),
             attr(IPVS_SVC_ATTR_SCHED_NAME, str("rr")),
             attr(IPVS_SVC_ATTR_FLAGS, cat({u32v(IP_VS_SVC_F_HASHED), u32v(~0U)})),
             attr(IPVS_SVC_ATTR_TIMEOUT, u32v(0)), attr(IPVS_SVC_ATTR_NETMASK, u32v(0xffffffff))}));
}

wire kernel_destination_entry(std::initializer_list<std::uint8_t> address, std::uint16_t port,
                              std::uint32_t weight) {
    return attr(IPVS_CMD_ATTR_DEST, cat({attr(IPVS_DEST_ATTR_ADDR, inet(address)),
                                         attr(IPVS_DEST_ATTR_PORT, be16v(port)),
                                         attr(IPVS_DEST_ATTR_FWD_METHOD, u32v(IP_VS_CONN_F_MASQ)),
                                         attr(IPVS_DEST_ATTR_WEIGHT, u32v(weight)),
                                         attr(IPVS_DEST_ATTR_ADDR_FAMILY, u16v(AF_INET))}));
}

operation add(const service& s) {
    operation o;
    o.kind = op_kind::add_service;
    o.svc = s;
    return o;
}

}  // namespace

TEST_CASE("asking for netlink on a kernel without the family is a clear error, never a fallback") {
    // A family no kernel has: the refusal a host without IPVS gets, proved on every host.
    auto opened = netlink_backend::open({}, "VIGIL_NO_SUCH");
    CHECK_FALSE(opened.backend);
    CHECK(opened.error.find("the kernel has no IPVS") != std::string::npos);
    CHECK(opened.error.find("\"VIGIL_NO_SUCH\" not found") != std::string::npos);
    CHECK(opened.error.find("modprobe ip_vs") != std::string::npos);
}

TEST_CASE("a dump reads every service, then each service's destinations by its identity") {
    fake_backend f;
    f.kernel.answer(cat({data_message(ipvs_family, IPVS_CMD_NEW_SERVICE, 1,
                                      kernel_service_entry({10, 0, 0, 1}, 80)),
                         data_message(ipvs_family, IPVS_CMD_NEW_SERVICE, 1,
                                      kernel_service_entry({10, 0, 0, 2}, 443)),
                         done_message(1)}));
    // Services come back ordered by key: 10.0.0.1:80 is asked for first (seq 2).
    f.kernel.answer(cat({data_message(ipvs_family, IPVS_CMD_NEW_DEST, 2,
                                      kernel_destination_entry({10, 1, 0, 1}, 80, 3)),
                         data_message(ipvs_family, IPVS_CMD_NEW_DEST, 2,
                                      kernel_destination_entry({10, 1, 0, 2}, 80, 0)),
                         done_message(2)}));
    f.kernel.answer(done_message(3));
    auto dumped = f.backend.dump();
    REQUIRE(dumped.has_value());
    REQUIRE(dumped->size() == 2);
    const auto& web = dumped->at(tcp_service("10.0.0.1:80").key);
    CHECK(web.settings.scheduler == "rr");
    REQUIRE(web.destinations.size() == 2);
    CHECK(web.destinations.at(ep("10.1.0.1:80")).weight == 3);
    CHECK(web.destinations.at(ep("10.1.0.2:80")).weight == 0);
    CHECK(dumped->at(tcp_service("10.0.0.2:443").key).destinations.empty());

    auto sent = f.kernel.sent();
    REQUIRE(sent.size() == 3);
    auto second = netlink::parse_replies(sent[1]);
    REQUIRE(second);
    CHECK((*second)[0].command == IPVS_CMD_GET_DEST);
    CHECK(decode_service((*second)[0].attributes)->key == tcp_service("10.0.0.1:80").key);
}

TEST_CASE("a dump with an entry the codec refuses fails rather than losing the entry") {
    fake_backend f;
    wire bad = attr(IPVS_CMD_ATTR_SERVICE, attr(IPVS_SVC_ATTR_AF, u16v(AF_INET)));  // no address
    f.kernel.answer(
        cat({data_message(ipvs_family, IPVS_CMD_NEW_SERVICE, 1, bad), done_message(1)}));
    auto dumped = f.backend.dump();
    REQUIRE_FALSE(dumped.has_value());
    CHECK(dumped.error().value() == EBADMSG);
}

TEST_CASE("a dump the kernel never finishes fails with ETIMEDOUT within its bound") {
    fake_backend f({.per_message = 50ms, .per_call = 200ms});
    f.kernel.answer(data_message(ipvs_family, IPVS_CMD_NEW_SERVICE, 1,
                                 kernel_service_entry({10, 0, 0, 1}, 80)));
    auto start = std::chrono::steady_clock::now();
    auto dumped = f.backend.dump();
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    REQUIRE_FALSE(dumped.has_value());
    CHECK(dumped.error().value() == ETIMEDOUT);
}

TEST_CASE("apply answers every operation with the kernel's own answer, window by window") {
    fake_backend f;
    f.backend.set_window(2);
    std::vector<operation> ops = {add(tcp_service("10.0.0.1:80")), add(tcp_service("10.0.0.2:80")),
                                  add(tcp_service("10.0.0.3:80"))};
    f.kernel.answer(cat({error_message(2, EEXIST), error_message(1, 0)}));
    f.kernel.answer(error_message(3, 0));
    auto answers = f.backend.apply(ops);
    REQUIRE(answers.size() == 3);
    CHECK_FALSE(answers[0]);
    CHECK(answers[1] == std::errc::file_exists);
    CHECK_FALSE(answers[2]);
    auto sent = f.kernel.sent();
    REQUIRE(sent.size() == 2);  // two windows, one datagram each
    CHECK(netlink::parse_replies(sent[0])->size() == 2);
    CHECK(netlink::parse_replies(sent[1])->size() == 1);
}

TEST_CASE("apply past its call's bound sends nothing more and answers ETIMEDOUT") {
    fake_backend f({.per_message = 60ms, .per_call = 100ms});
    f.backend.set_window(1);
    std::vector<operation> ops(5, add(tcp_service("10.0.0.1:80")));
    auto answers = f.backend.apply(ops);
    for (const auto& a : answers) {
        CHECK(a == std::errc::timed_out);
    }
    // 60 ms unanswered, then the 40 ms left, then the bound has passed.
    CHECK(f.kernel.sent().size() == 2);
}

TEST_CASE("kernel info and daemons decode through the backend") {
    fake_backend f;
    f.kernel.answer(cat({data_message(ipvs_family, IPVS_CMD_GET_INFO, 1,
                                      cat({attr(IPVS_INFO_ATTR_VERSION, u32v(0x010201)),
                                           attr(IPVS_INFO_ATTR_CONN_TAB_SIZE, u32v(4096))}),
                                      0),
                         error_message(1, 0)}));
    auto info = f.backend.info();
    REQUIRE(info.has_value());
    CHECK(netlink_backend::version_string(info->version) == "1.2.1");
    CHECK(info->connection_table_size == 4096);

    f.kernel.answer(
        cat({data_message(ipvs_family, IPVS_CMD_NEW_DAEMON, 2,
                          attr(IPVS_CMD_ATTR_DAEMON,
                               cat({attr(IPVS_DAEMON_ATTR_STATE, u32v(IP_VS_STATE_BACKUP)),
                                    attr(IPVS_DAEMON_ATTR_MCAST_IFN, str("eth0")),
                                    attr(IPVS_DAEMON_ATTR_SYNC_ID, u32v(4))}))),
             done_message(2)}));
    auto running = f.backend.daemons();
    REQUIRE(running.has_value());
    REQUIRE(running->size() == 1);
    CHECK(running->front().role == sync_role::backup);
    CHECK(running->front().interface == "eth0");
    CHECK(running->front().sync_id == 4);

    f.kernel.answer(error_message(3, ESRCH));  // the kernel's own errno, not libnl's ENOENT
    CHECK(f.backend.stop_daemon(sync_role::master) == std::errc::no_such_process);
}

TEST_CASE("info acknowledged without the information is refused") {
    fake_backend f;
    f.kernel.answer(error_message(1, 0));
    auto info = f.backend.info();
    REQUIRE_FALSE(info.has_value());
    CHECK(info.error().value() == EBADMSG);
}
