#include "checkers/smtp_dialogue.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace vigil::checkers;

namespace {

// Feeds `data` and returns the step; every byte must be consumed by the dialogue.
smtp_dialogue::step say(smtp_dialogue& d, std::string_view data) {
    return d.on_data(data);
}

}  // namespace

TEST_CASE("smtp replies: one line, several lines, split anywhere, bare LF") {
    smtp_reply_reader r;
    auto out = r.feed("220 mx.example ESMTP ready\r\n");
    REQUIRE(out.reply);
    CHECK(out.reply->code == 220);
    CHECK(out.reply->text == "mx.example ESMTP ready");
    CHECK(out.consumed == 28);

    std::string multi = "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
    for (std::size_t cut = 1; cut < multi.size(); ++cut) {
        smtp_reply_reader split;
        auto first = split.feed(std::string_view(multi).substr(0, cut));
        CHECK_FALSE(first.reply);
        CHECK(first.error.empty());
        auto second = split.feed(std::string_view(multi).substr(cut));
        REQUIRE(second.reply);
        CHECK(second.reply->code == 250);
        CHECK(second.reply->text == "mx.example");
    }
    smtp_reply_reader bare;
    auto b = bare.feed("221\n");
    REQUIRE(b.reply);
    CHECK(b.reply->code == 221);
    CHECK(b.reply->text.empty());
}

TEST_CASE("smtp replies: malformed lines, mixed codes, huge lines and endless replies fail") {
    CHECK(smtp_reply_reader().feed("hello\r\n").error == "malformed SMTP reply \"hello\"");
    CHECK(smtp_reply_reader().feed("220x\r\n").error == "malformed SMTP reply \"220x\"");
    CHECK(smtp_reply_reader().feed("120 early\r\n").error == "malformed SMTP reply \"120 early\"");
    CHECK(smtp_reply_reader().feed("250-a\r\n251 b\r\n").error ==
          "SMTP reply mixes codes 250 and 251");
    // A line that never ends is cut off at the bound, however it arrives.
    smtp_reply_reader drip;
    std::string chunk(100, 'x');
    std::string error;
    std::size_t fed = 0;
    while (error.empty() && fed < 100000) {
        auto out = drip.feed(fed == 0 ? "220 " + chunk : chunk);
        error = out.error;
        fed += chunk.size();
    }
    CHECK(error == "SMTP reply line longer than 1024 bytes");
    CHECK(fed <= smtp_reply_reader::max_line + chunk.size());
    // So is a reply of endless continuation lines.
    smtp_reply_reader endless;
    std::string outcome;
    for (int i = 0; i < 1000 && outcome.empty(); ++i) {
        outcome = endless.feed("250-more\r\n").error;
    }
    CHECK(outcome == "SMTP reply longer than 128 lines");
    // Control characters in the text are not copied into reasons.
    auto controlled = smtp_reply_reader().feed("554 no\x1b[31m\r\n");
    REQUIRE(controlled.reply);
    CHECK(controlled.reply->text == "no?[31m");
}

TEST_CASE("smtp dialogue: greeting, EHLO, QUIT is healthy") {
    smtp_dialogue d("lb1.example");
    auto s = say(d, "220-mx.example ESMTP\r\n220 no UCE\r\n");
    CHECK(s.send == "EHLO lb1.example\r\n");
    CHECK_FALSE(s.verdict);
    s = say(d, "250-mx.example\r\n250 SIZE 10240000\r\n");
    CHECK(s.send == "QUIT\r\n");
    s = say(d, "221 2.0.0 Bye\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->success);
}

TEST_CASE("smtp dialogue: an RFC 821 server that refuses EHLO gets HELO") {
    smtp_dialogue d("lb1");
    say(d, "220 old\r\n");
    auto s = say(d, "502 command not implemented\r\n");
    CHECK(s.send == "HELO lb1\r\n");
    s = say(d, "250 old\r\n");
    CHECK(s.send == "QUIT\r\n");
    // Closing at QUIT without a 221 still means the server works.
    s = d.on_eof();
    REQUIRE(s.verdict);
    CHECK(s.verdict->success);
}

TEST_CASE("smtp dialogue: wrong codes fail with the step, code and text") {
    smtp_dialogue refused("lb1");
    auto s = say(refused, "554 5.3.2 no service here\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "SMTP greeting 554, expected 220: 5.3.2 no service here");

    smtp_dialogue ehlo("lb1");
    say(ehlo, "220 hi\r\n");
    s = say(ehlo, "421 4.7.0 try later\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "SMTP EHLO answered 421, expected 250: 4.7.0 try later");

    smtp_dialogue helo("lb1");
    say(helo, "220 hi\r\n");
    say(helo, "500 what\r\n");
    s = say(helo, "550 go away\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "SMTP HELO answered 550, expected 250: go away");

    smtp_dialogue quit("lb1");
    say(quit, "220 hi\r\n");
    say(quit, "250 ok\r\n");
    s = say(quit, "500 no\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "SMTP QUIT answered 500, expected 221: no");
}

TEST_CASE("smtp dialogue: closed early or talking out of turn fails") {
    smtp_dialogue silent("lb1");
    auto s = silent.on_eof();
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "connection closed before the SMTP greeting");

    smtp_dialogue cut("lb1");
    say(cut, "220 hi\r\n");
    s = cut.on_eof();
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "connection closed after EHLO");

    smtp_dialogue chatty("lb1");
    s = say(chatty, "220 hi\r\n250 unasked\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "SMTP server sent more than one reply at once");

    smtp_dialogue half("lb1");
    say(half, "220 hi\r\n");
    say(half, "250 ok\r\n");
    say(half, "221-bye");
    s = half.on_eof();
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "connection closed inside the QUIT reply");
}

TEST_CASE("smtp dialogue: after the verdict nothing more is sent") {
    smtp_dialogue d("lb1");
    auto s = say(d, "554 no\r\n");
    REQUIRE(s.verdict);
    s = say(d, "220 changed my mind\r\n");
    CHECK(s.send.empty());
    CHECK_FALSE(s.verdict);
}

TEST_CASE("smtp replies: the EHLO keywords are the first word of every line after the first") {
    smtp_reply_reader r;
    auto out =
        r.feed("250-mx.example greets you\r\n250-size 10240000\r\n250-StartTLS\r\n250-" +
               std::string(smtp_reply::max_keyword + 1, 'X') + "\r\n250 AUTH PLAIN LOGIN\r\n");
    REQUIRE(out.reply);
    CHECK(out.reply->keywords == std::vector<std::string>{"SIZE", "STARTTLS", "AUTH"});
    CHECK(out.reply->offers("STARTTLS"));
    CHECK_FALSE(out.reply->offers("PIPELINING"));
    // The greeting line names the server, not an extension.
    auto single = smtp_reply_reader().feed("250 STARTTLS\r\n");
    REQUIRE(single.reply);
    CHECK_FALSE(single.reply->offers("STARTTLS"));
    // Keywords belong to one reply: the next starts empty.
    auto next = r.feed("250 ok\r\n");
    REQUIRE(next.reply);
    CHECK(next.reply->keywords.empty());
}

TEST_CASE("smtp dialogue with STARTTLS: EHLO, STARTTLS, handshake, EHLO over TLS, QUIT") {
    smtp_dialogue d("lb1.example", true);
    auto s = say(d, "220 mx.example ESMTP\r\n");
    CHECK(s.send == "EHLO lb1.example\r\n");
    s = say(d, "250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
    CHECK(s.send == "STARTTLS\r\n");
    CHECK_FALSE(s.start_tls);
    s = say(d, "220 2.0.0 ready to start TLS\r\n");
    CHECK(s.send.empty());
    CHECK_FALSE(s.verdict);
    CHECK(s.start_tls);
    s = d.on_tls_established();
    CHECK(s.send == "EHLO lb1.example\r\n");
    CHECK_FALSE(s.start_tls);
    // The reply over TLS need not offer STARTTLS again (it should not).
    s = say(d, "250-mx.example\r\n250 AUTH PLAIN\r\n");
    CHECK(s.send == "QUIT\r\n");
    s = say(d, "221 2.0.0 Bye\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->success);
}

TEST_CASE("smtp dialogue with STARTTLS: a server that does not offer it fails") {
    smtp_dialogue plain("lb1", true);
    say(plain, "220 mx\r\n");
    auto s = say(plain, "250-mx\r\n250 SIZE 1000\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "SMTP STARTTLS not offered in the EHLO reply");
    CHECK(s.send.empty());

    // An RFC 821 server gets no HELO: HELO has no extensions, so no STARTTLS.
    smtp_dialogue old("lb1", true);
    say(old, "220 old\r\n");
    s = say(old, "502 command not implemented\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason ==
          "SMTP STARTTLS not offered: EHLO answered 502 (a HELO-only server): command not "
          "implemented");
    CHECK(s.send.empty());

    smtp_dialogue refused("lb1", true);
    say(refused, "220 mx\r\n");
    say(refused, "250-mx\r\n250 STARTTLS\r\n");
    s = say(refused, "454 4.7.0 TLS not available due to temporary reason\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason ==
          "SMTP STARTTLS answered 454, expected 220: 4.7.0 TLS not available due to temporary "
          "reason");
    CHECK_FALSE(s.start_tls);
}

TEST_CASE("smtp dialogue with STARTTLS: plaintext behind the 220 fails before any handshake") {
    // A fake "250" injected with the 220 (CVE-2011-0411's pattern, against the client) must
    // never be read as the server's reply over TLS.
    smtp_dialogue injected("lb1", true);
    say(injected, "220 mx\r\n");
    say(injected, "250-mx\r\n250 STARTTLS\r\n");
    auto s = say(injected, "220 go ahead\r\n250-fake\r\n250 STARTTLS\r\n");
    REQUIRE(s.verdict);
    CHECK_FALSE(s.verdict->success);
    CHECK(s.verdict->reason ==
          "SMTP server sent plaintext after its STARTTLS 220, before the TLS handshake");
    CHECK_FALSE(s.start_tls);
    CHECK(injected.on_tls_established().send.empty());

    // Even a partial line behind it.
    smtp_dialogue partial("lb1", true);
    say(partial, "220 mx\r\n");
    say(partial, "250-mx\r\n250 STARTTLS\r\n");
    s = say(partial, "220 go ahead\r\n2");
    REQUIRE(s.verdict);
    CHECK_FALSE(s.start_tls);

    // Plaintext handed to the dialogue while the handshake runs is refused too.
    smtp_dialogue during("lb1", true);
    say(during, "220 mx\r\n");
    say(during, "250-mx\r\n250 STARTTLS\r\n");
    REQUIRE(say(during, "220 go ahead\r\n").start_tls);
    s = say(during, "250 fake\r\n");
    REQUIRE(s.verdict);
    CHECK_FALSE(s.verdict->success);
    CHECK(during.on_tls_established().send.empty());
}

TEST_CASE("smtp dialogue with STARTTLS: failures and closes after the handshake name the step") {
    auto up_to_tls = [](smtp_dialogue& d) {
        say(d, "220 mx\r\n");
        say(d, "250-mx\r\n250 STARTTLS\r\n");
        REQUIRE(say(d, "220 go ahead\r\n").start_tls);
        REQUIRE(d.on_tls_established().send == "EHLO lb1\r\n");
    };
    smtp_dialogue refused("lb1", true);
    up_to_tls(refused);
    auto s = say(refused, "554 5.7.0 not over TLS either\r\n");
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason ==
          "SMTP EHLO over TLS answered 554, expected 250: 5.7.0 not over TLS either");

    smtp_dialogue closed("lb1", true);
    up_to_tls(closed);
    s = closed.on_eof();
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "connection closed after EHLO over TLS");

    smtp_dialogue after_starttls("lb1", true);
    say(after_starttls, "220 mx\r\n");
    say(after_starttls, "250-mx\r\n250 STARTTLS\r\n");
    s = after_starttls.on_eof();
    REQUIRE(s.verdict);
    CHECK(s.verdict->reason == "connection closed after STARTTLS");

    // The reply over TLS is bounded like any other.
    smtp_dialogue endless("lb1", true);
    up_to_tls(endless);
    std::optional<vigil::checkers::probe_result> verdict;
    for (int i = 0; i < 1000 && !verdict; ++i) {
        verdict = say(endless, "250-more\r\n").verdict;
    }
    REQUIRE(verdict);
    CHECK(verdict->reason == "SMTP reply longer than 128 lines");
}

TEST_CASE("smtp dialogue without STARTTLS never asks for TLS, whatever the server offers") {
    smtp_dialogue d("lb1");
    say(d, "220 mx\r\n");
    auto s = say(d, "250-mx\r\n250 STARTTLS\r\n");
    CHECK(s.send == "QUIT\r\n");
    CHECK_FALSE(s.start_tls);
}
