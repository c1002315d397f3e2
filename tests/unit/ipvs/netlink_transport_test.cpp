#include "ipvs/netlink_transport.hpp"

#include <doctest/doctest.h>

#include <poll.h>

#include <atomic>
#include <thread>

#include "netlink_kernel_replies.hpp"
#include "netlink_socketpair.hpp"

using namespace vigil::ipvs;
using namespace vigil::ipvs::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

netlink::bytes request_bytes() {
    return *netlink::message_builder(0x1d, 1, 1, NLM_F_DUMP).finish();
}

std::vector<netlink::bytes> commands(std::size_t n) {
    std::vector<netlink::bytes> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(*netlink::message_builder(0x1d, 2, 1, NLM_F_ACK).finish());
    }
    return out;
}

// "The kernel" answers the next request it receives with NLMSG_DONE, from a thread, so the
// answer arrives only after the request was sent.
std::thread answer_next_request(fake_kernel& kernel) {
    kernel.sent();  // requests sent so far go unanswered
    return std::thread([&kernel] {
        std::vector<std::uint8_t> buffer(1 << 16);
        pollfd p{kernel.peer, POLLIN, 0};
        if (::poll(&p, 1, 2000) != 1) {
            return;
        }
        ssize_t n = ::recv(kernel.peer, buffer.data(), buffer.size(), 0);
        if (n > 0) {
            kernel.answer(done_message(netlink::sequence_of(
                netlink::byte_view(buffer.data(), static_cast<std::size_t>(n)))));
        }
    });
}

auto count_into(int& n) {
    return [&n](const netlink::reply&) {
        ++n;
        return true;
    };
}

}  // namespace

TEST_CASE("a request gets its data messages and ends at NLMSG_DONE") {
    fake_kernel kernel({});
    kernel.answer(cat({data_message(0x1d, 1, 1, {}), data_message(0x1d, 1, 1, {})}));
    kernel.answer(done_message(1));
    int seen = 0;
    auto ec = kernel.transport->request(request_bytes(), count_into(seen),
                                        kernel.transport->call_deadline());
    CHECK_FALSE(ec);
    CHECK(seen == 2);
    auto sent = kernel.sent();
    REQUIRE(sent.size() == 1);
    CHECK(netlink::sequence_of(sent[0]) == 1);
}

TEST_CASE("the kernel's errno in an error or a failed dump's NLMSG_DONE is the answer") {
    fake_kernel kernel({});
    kernel.answer(error_message(1, EPERM));
    int seen = 0;
    CHECK(kernel.transport->request(request_bytes(), count_into(seen),
                                    kernel.transport->call_deadline()) ==
          std::errc::operation_not_permitted);
    kernel.answer(cat({data_message(0x1d, 1, 2, {}), done_message(2, ENOMEM)}));
    CHECK(kernel.transport->request(request_bytes(), count_into(seen),
                                    kernel.transport->call_deadline()) ==
          std::errc::not_enough_memory);
}

TEST_CASE("answers to an earlier request, queued after its reader gave up, are skipped") {
    fake_kernel kernel({});
    kernel.answer(cat({data_message(0x1d, 1, 0, {}), done_message(0, EIO)}));  // stale
    kernel.answer(cat({data_message(0x1d, 1, 1, {}), done_message(1)}));
    int seen = 0;
    CHECK_FALSE(kernel.transport->request(request_bytes(), count_into(seen),
                                          kernel.transport->call_deadline()));
    CHECK(seen == 1);
}

TEST_CASE("a reply the codec refuses makes the answer EBADMSG once read to its end") {
    fake_kernel kernel({.per_message = 200ms, .per_call = 1s});
    kernel.answer(cat({data_message(0x1d, 1, 1, {}), data_message(0x1d, 1, 1, {})}));
    kernel.answer(done_message(1));
    kernel.answer(done_message(2));
    int calls = 0;
    auto ec = kernel.transport->request(
        request_bytes(),
        [&](const netlink::reply&) {
            ++calls;
            return false;
        },
        kernel.transport->call_deadline());
    CHECK(ec == std::errc::bad_message);
    CHECK(calls == 1);  // nothing after the refusal is decoded
    // The first answer was read to its end: the next request finds its own at once.
    int seen = 0;
    auto start = clock_type::now();
    CHECK_FALSE(kernel.transport->request(request_bytes(), count_into(seen),
                                          kernel.transport->call_deadline()));
    CHECK(clock_type::now() - start < 150ms);
}

TEST_CASE("a request given up on is read to its end before the next one is sent") {
    fake_kernel kernel({.per_message = 200ms, .per_call = 1s});
    kernel.answer(data_message(0x1d, 1, 1, {}));  // a dump that stalls
    int seen = 0;
    CHECK(kernel.transport->request(request_bytes(), count_into(seen),
                                    kernel.transport->call_deadline()) == std::errc::timed_out);
    // The rest of the stalled dump arrives; "the kernel" answers the next request only after.
    kernel.answer(cat({data_message(0x1d, 1, 1, {}), done_message(1)}));
    auto responder = answer_next_request(kernel);
    seen = 0;
    auto ec = kernel.transport->request(request_bytes(), count_into(seen),
                                        kernel.transport->call_deadline());
    responder.join();
    CHECK_FALSE(ec);
    CHECK(seen == 0);  // the stalled dump's messages were not taken for this answer
}

TEST_CASE("an abandoned request whose end never comes delays only the next call, once") {
    fake_kernel kernel({.per_message = 200ms, .per_call = 1s});
    int seen = 0;
    CHECK(kernel.transport->request(request_bytes(), count_into(seen),
                                    kernel.transport->call_deadline()) == std::errc::timed_out);
    auto timed = [&] {
        auto responder = answer_next_request(kernel);
        auto start = clock_type::now();
        auto ec = kernel.transport->request(request_bytes(), count_into(seen),
                                            kernel.transport->call_deadline());
        auto took = clock_type::now() - start;
        responder.join();
        CHECK_FALSE(ec);
        return took;
    };
    CHECK(timed() >= 190ms);  // one per_message wait for the lost end
    CHECK(timed() < 150ms);   // and no more
}

TEST_CASE("a malformed datagram ends the request with EBADMSG, never a misread") {
    fake_kernel kernel({});
    wire broken = done_message(1);
    broken[0] = 200;  // longer than the datagram
    kernel.answer(broken);
    int seen = 0;
    CHECK(kernel.transport->request(request_bytes(), count_into(seen),
                                    kernel.transport->call_deadline()) == std::errc::bad_message);
}

TEST_CASE("a kernel that never answers ends the request with ETIMEDOUT after per_message") {
    fake_kernel kernel({.per_message = 50ms, .per_call = 5s});
    int seen = 0;
    auto start = clock_type::now();
    auto ec = kernel.transport->request(request_bytes(), count_into(seen),
                                        kernel.transport->call_deadline());
    auto took = clock_type::now() - start;
    CHECK(ec == std::errc::timed_out);
    CHECK(took >= 45ms);
    CHECK(took < 1s);
}

TEST_CASE("an answer that keeps trickling in still ends at per_call") {
    fake_kernel kernel({.per_message = 100ms, .per_call = 300ms});
    std::atomic<bool> stop{false};
    std::thread trickle([&] {
        while (!stop) {
            kernel.answer(data_message(0x1d, 1, 1, {}));
            std::this_thread::sleep_for(20ms);
        }
    });
    int seen = 0;
    auto start = clock_type::now();
    auto ec = kernel.transport->request(request_bytes(), count_into(seen),
                                        kernel.transport->call_deadline());
    auto took = clock_type::now() - start;
    stop = true;
    trickle.join();
    CHECK(ec == std::errc::timed_out);
    CHECK(seen > 3);
    CHECK(took >= 290ms);
    CHECK(took < 1s);
}

TEST_CASE("a request after its call's deadline is not sent") {
    fake_kernel kernel({});
    int seen = 0;
    CHECK(kernel.transport->request(request_bytes(), count_into(seen), clock_type::now() - 1ms) ==
          std::errc::timed_out);
    CHECK(kernel.sent().empty());
}

TEST_CASE("a batch of commands travels in one datagram; answers match by sequence number") {
    fake_kernel kernel({.per_message = 50ms, .per_call = 1s});
    auto batch = commands(4);
    std::vector<std::error_code> answers(4);
    // Out of order, one failure, one never answered, one stale answer from before.
    kernel.answer(cat({error_message(3, 0), error_message(0, EIO), error_message(1, EEXIST)}));
    kernel.answer(error_message(2, 0));
    kernel.transport->exchange(batch, answers, kernel.transport->call_deadline());
    CHECK(answers[0] == std::errc::file_exists);
    CHECK_FALSE(answers[1]);
    CHECK_FALSE(answers[2]);
    CHECK(answers[3] == std::errc::timed_out);
    auto sent = kernel.sent();
    REQUIRE(sent.size() == 1);
    auto messages = netlink::parse_replies(sent[0]);
    REQUIRE(messages);
    REQUIRE(messages->size() == 4);
    for (std::uint32_t i = 0; i < 4; ++i) {
        CHECK((*messages)[i].sequence == i + 1);
    }
}
