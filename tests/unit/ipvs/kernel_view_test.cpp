#include "ipvs/kernel_view.hpp"

#include <doctest/doctest.h>

#include "ipvs/diff.hpp"
#include "ipvs/memory_backend.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;

TEST_CASE("the view after acknowledged operations equals what the kernel then holds") {
    memory_backend kernel;
    put(kernel.raw(), tcp_service("192.0.2.1:80"), {dest("10.0.0.1:80"), dest("10.0.0.2:80", 4)});
    put(kernel.raw(), tcp_service("192.0.2.9:80"));
    kernel_view view;
    CHECK_FALSE(view.known());
    view.replace(*kernel.dump(), time_point{5s});
    CHECK(view.dumped_at() == time_point{5s});

    table want;
    put(want, tcp_service("192.0.2.1:80", "rr"), {dest("10.0.0.2:80", 9), dest("10.0.0.3:80")});
    put(want, tcp_service("192.0.2.2:80"), {dest("10.0.0.4:80", 2)});
    std::set<service_key> owned{tcp_service("192.0.2.9:80").key};
    auto ops = diff(want, view.table(), owned);
    auto answers = kernel.apply(ops);
    for (std::size_t i = 0; i < ops.size(); ++i) {
        REQUIRE_FALSE(answers[i]);
        view.acknowledge(ops[i]);
    }
    CHECK(view.acknowledged() == ops.size());
    CHECK(diff(view.table(), *kernel.dump(), {}).empty());
    CHECK(diff(*kernel.dump(), view.table(), {}).empty());
    CHECK(view.table().size() == kernel.raw().size());
}
