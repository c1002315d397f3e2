#include "ipvs/memory_backend.hpp"

#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;

namespace {
operation svc_op(op_kind kind, const service& s) {
    operation op;
    op.kind = kind;
    op.svc = s;
    return op;
}
operation dest_op(op_kind kind, const service& s, const destination& d) {
    operation op;
    op.kind = kind;
    op.svc = s;
    op.dest = d;
    return op;
}
std::errc code(std::error_code ec) {
    return static_cast<std::errc>(ec.value());
}
}  // namespace

TEST_CASE("memory backend answers service commands as the kernel does") {
    memory_backend m;
    auto s = tcp_service("192.0.2.1:80", "rr");
    CHECK_FALSE(m.apply_one(svc_op(op_kind::add_service, s)));
    CHECK(code(m.apply_one(svc_op(op_kind::add_service, s))) == std::errc::file_exists);
    auto other = tcp_service("192.0.2.2:80");
    CHECK(code(m.apply_one(svc_op(op_kind::edit_service, other))) == std::errc::no_such_process);
    CHECK(code(m.apply_one(svc_op(op_kind::delete_service, other))) == std::errc::no_such_process);
    auto bad = tcp_service("192.0.2.3:80", "nosuch");
    CHECK(code(m.apply_one(svc_op(op_kind::add_service, bad))) ==
          std::errc::no_such_file_or_directory);
    auto edited = s;
    edited.scheduler = "nosuch";
    CHECK(code(m.apply_one(svc_op(op_kind::edit_service, edited))) ==
          std::errc::no_such_file_or_directory);
    auto v6 = tcp_service("[2001:db8::1]:80");
    v6.netmask = 129;
    CHECK(code(m.apply_one(svc_op(op_kind::add_service, v6))) == std::errc::invalid_argument);

    auto dumped = m.dump();
    REQUIRE(dumped.has_value());
    REQUIRE(dumped->size() == 1);
    CHECK(dumped->begin()->second.settings.flags == service_flags::hashed);
    CHECK_FALSE(m.apply_one(svc_op(op_kind::delete_service, s)));
    CHECK(m.dump()->empty());
}

TEST_CASE("memory backend answers destination commands as the kernel does") {
    memory_backend m;
    auto s = tcp_service("192.0.2.1:80");
    auto d = dest("10.0.0.2:80", 2);
    CHECK(code(m.apply_one(dest_op(op_kind::add_destination, s, d))) == std::errc::no_such_process);
    REQUIRE_FALSE(m.apply_one(svc_op(op_kind::add_service, s)));
    CHECK_FALSE(m.apply_one(dest_op(op_kind::add_destination, s, d)));
    CHECK(code(m.apply_one(dest_op(op_kind::add_destination, s, d))) == std::errc::file_exists);
    auto missing = dest("10.0.0.3:80");
    CHECK(code(m.apply_one(dest_op(op_kind::edit_destination, s, missing))) ==
          std::errc::no_such_file_or_directory);
    CHECK(code(m.apply_one(dest_op(op_kind::delete_destination, s, missing))) ==
          std::errc::no_such_file_or_directory);
    auto thresholds = dest("10.0.0.4:80");
    thresholds.lower_threshold = 5;  // above an upper threshold of 0
    CHECK(code(m.apply_one(dest_op(op_kind::add_destination, s, thresholds))) ==
          std::errc::result_out_of_range);
    auto v6 = dest("[2001:db8::5]:80");
    CHECK(code(m.apply_one(dest_op(op_kind::add_destination, s, v6))) ==
          std::errc::invalid_argument);
    v6.forward = forward_method::tunnel;  // mixed families only by tunnelling
    CHECK_FALSE(m.apply_one(dest_op(op_kind::add_destination, s, v6)));
    auto heavier = d;
    heavier.weight = 9;
    CHECK_FALSE(m.apply_one(dest_op(op_kind::edit_destination, s, heavier)));
    CHECK(m.dump()->begin()->second.destinations.at(d.address).weight == 9);
}

TEST_CASE("memory backend sync daemons: one per role, EEXIST and ESRCH like the kernel") {
    memory_backend m;
    sync_daemon d{sync_role::master, "eth0", 5, 0, {}, 0, 0};
    CHECK_FALSE(m.start_daemon(d));
    CHECK(code(m.start_daemon(d)) == std::errc::file_exists);
    auto backup = d;
    backup.role = sync_role::backup;
    CHECK_FALSE(m.start_daemon(backup));
    auto running = m.daemons();
    REQUIRE(running.has_value());
    CHECK(running->size() == 2);
    CHECK((*running)[0].port == 8848);
    CHECK_FALSE(m.stop_daemon(sync_role::master));
    CHECK(code(m.stop_daemon(sync_role::master)) == std::errc::no_such_process);
}

TEST_CASE("injected failures answer instead of applying, the given number of times") {
    memory_backend m;
    m.fail_when([](const operation& op) { return op.kind == op_kind::add_service; },
                std::errc::not_enough_memory, 1);
    auto s = tcp_service("192.0.2.1:80");
    CHECK(code(m.apply_one(svc_op(op_kind::add_service, s))) == std::errc::not_enough_memory);
    CHECK_FALSE(m.apply_one(svc_op(op_kind::add_service, s)));
}
