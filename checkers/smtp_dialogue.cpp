#include "checkers/smtp_dialogue.hpp"

namespace vigil::checkers {

namespace {

// How much of a server's text a reason quotes.
constexpr std::size_t quoted_text = 100;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Printable ASCII only: a reason goes into logs and alerts.
std::string clean(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (out.size() == quoted_text) {
            out += "...";
            break;
        }
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return out;
}

char upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace

bool smtp_reply::offers(std::string_view keyword) const {
    for (const auto& k : keywords) {
        if (k == keyword) {
            return true;
        }
    }
    return false;
}

smtp_reply_reader::outcome smtp_reply_reader::feed(std::string_view data) {
    outcome out;
    while (out.consumed < data.size()) {
        auto rest = data.substr(out.consumed);
        auto newline = rest.find('\n');
        auto take = newline == std::string_view::npos ? rest.size() : newline + 1;
        if (partial_.size() + take > max_line) {
            out.error = "SMTP reply line longer than " + std::to_string(max_line) + " bytes";
            return out;
        }
        partial_.append(rest.substr(0, take));
        out.consumed += take;
        if (newline == std::string_view::npos) {
            return out;
        }
        // One whole line: "ddd-text" continues the reply, "ddd text" or "ddd" ends it. A bare LF
        // is taken as CRLF, as most clients do.
        std::string_view line = partial_;
        line.remove_suffix(1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
            line[0] < '2' || line[0] > '5' ||
            (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
            out.error = "malformed SMTP reply \"" + clean(line) + "\"";
            return out;
        }
        unsigned code =
            static_cast<unsigned>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
        if (code_ && *code_ != code) {
            out.error =
                "SMTP reply mixes codes " + std::to_string(*code_) + " and " + std::to_string(code);
            return out;
        }
        std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
        if (!code_) {
            code_ = code;
            first_text_ = clean(text);
        } else if (auto word = text.substr(0, text.find(' '));
                   !word.empty() && word.size() <= smtp_reply::max_keyword) {
            std::string keyword;
            for (char c : word) {
                keyword += upper(c);
            }
            keywords_.push_back(std::move(keyword));
        }
        bool last = line.size() == 3 || line[3] == ' ';
        partial_.clear();
        if (++lines_ > max_lines) {
            out.error = "SMTP reply longer than " + std::to_string(max_lines) + " lines";
            return out;
        }
        if (last) {
            out.reply = smtp_reply{*code_, std::move(first_text_), std::move(keywords_)};
            code_.reset();
            first_text_.clear();
            keywords_.clear();
            lines_ = 0;
            return out;
        }
    }
    return out;
}

smtp_dialogue::smtp_dialogue(std::string helo_name, bool starttls)
    : helo_name_(std::move(helo_name)), starttls_(starttls) {}

smtp_dialogue::step smtp_dialogue::finish(probe_result result) {
    phase_ = phase::done;
    return step{{}, std::move(result)};
}

smtp_dialogue::step smtp_dialogue::on_data(std::string_view data) {
    if (phase_ == phase::done) {
        return {};
    }
    if (phase_ == phase::handshake) {
        // The shell hands the socket to TLS at once; plaintext here would be a shell's bug.
        return finish(probe_result::fail("SMTP plaintext read during the TLS handshake"));
    }
    auto read = reader_.feed(data);
    if (!read.error.empty()) {
        return finish(probe_result::fail(std::move(read.error)));
    }
    if (!read.reply) {
        return {};
    }
    // The server speaks only when spoken to (no PIPELINING on our side): more bytes behind a
    // complete reply answer nothing we sent.
    if (read.consumed != data.size()) {
        // After "220 go ahead" to STARTTLS the next bytes must be the TLS handshake. Bytes that
        // came with the 220 were sent in plaintext, by the server or by someone in between, and
        // a client that kept them would take them for the first reply over TLS: the response
        // injection that mirrors CVE-2011-0411's command injection, found in many mail clients
        // in 2021. We fail the check on them rather than discard them (a server that sends them
        // is broken or attacked either way); none is ever read as a reply. Bytes that arrive
        // after the read that held the 220 go to OpenSSL, which fails the handshake on them.
        if (phase_ == phase::starttls && read.reply->code == 220) {
            return finish(probe_result::fail(
                "SMTP server sent plaintext after its STARTTLS 220, before the TLS handshake"));
        }
        return finish(probe_result::fail("SMTP server sent more than one reply at once"));
    }
    return on_reply(*read.reply);
}

smtp_dialogue::step smtp_dialogue::on_reply(const smtp_reply& reply) {
    auto wrong = [&](const char* what, unsigned expected) {
        std::string why = std::string("SMTP ") + what + " " + std::to_string(reply.code) +
                          ", expected " + std::to_string(expected);
        if (!reply.text.empty()) {
            why += ": " + reply.text;
        }
        return finish(probe_result::fail(std::move(why)));
    };
    switch (phase_) {
        case phase::greeting:
            if (reply.code != 220) {
                return wrong("greeting", 220);
            }
            phase_ = phase::ehlo;
            return step{"EHLO " + helo_name_ + "\r\n", {}};
        case phase::ehlo:
            if (reply.code == 250 && starttls_) {
                if (!reply.offers("STARTTLS")) {
                    return finish(
                        probe_result::fail("SMTP STARTTLS not offered in the EHLO reply"));
                }
                phase_ = phase::starttls;
                return step{"STARTTLS\r\n", {}};
            }
            if (reply.code == 250) {
                phase_ = phase::quit;
                return step{"QUIT\r\n", {}};
            }
            // 500 unknown command, 502 not implemented: an RFC 821 server; HELO is its greeting.
            // It has no extensions, STARTTLS among them.
            if ((reply.code == 500 || reply.code == 502) && starttls_) {
                std::string why = "SMTP STARTTLS not offered: EHLO answered " +
                                  std::to_string(reply.code) + " (a HELO-only server)";
                if (!reply.text.empty()) {
                    why += ": " + reply.text;
                }
                return finish(probe_result::fail(std::move(why)));
            }
            if (reply.code == 500 || reply.code == 502) {
                phase_ = phase::helo;
                return step{"HELO " + helo_name_ + "\r\n", {}};
            }
            return wrong("EHLO answered", 250);
        case phase::helo:
            if (reply.code != 250) {
                return wrong("HELO answered", 250);
            }
            phase_ = phase::quit;
            return step{"QUIT\r\n", {}};
        case phase::starttls:
            if (reply.code != 220) {
                return wrong("STARTTLS answered", 220);
            }
            phase_ = phase::handshake;
            return step{{}, {}, true};
        case phase::tls_ehlo:
            if (reply.code != 250) {
                return wrong("EHLO over TLS answered", 250);
            }
            phase_ = phase::quit;
            return step{"QUIT\r\n", {}};
        case phase::quit:
            if (reply.code != 221) {
                return wrong("QUIT answered", 221);
            }
            return finish(probe_result::ok());
        case phase::handshake:
        case phase::done:
            break;
    }
    return {};
}

smtp_dialogue::step smtp_dialogue::on_tls_established() {
    if (phase_ != phase::handshake) {
        return {};
    }
    // RFC 3207 4.2: what the server said before TLS is forgotten; the reader is idle anyway
    // (on_data refused anything behind the 220), a fresh one makes it plain.
    reader_ = smtp_reply_reader{};
    phase_ = phase::tls_ehlo;
    return step{"EHLO " + helo_name_ + "\r\n", {}};
}

smtp_dialogue::step smtp_dialogue::on_eof() {
    switch (phase_) {
        case phase::greeting:
            return finish(probe_result::fail("connection closed before the SMTP greeting"));
        case phase::ehlo:
            return finish(probe_result::fail("connection closed after EHLO"));
        case phase::helo:
            return finish(probe_result::fail("connection closed after HELO"));
        case phase::starttls:
            return finish(probe_result::fail("connection closed after STARTTLS"));
        case phase::handshake:
            return finish(probe_result::fail("connection closed during the TLS handshake"));
        case phase::tls_ehlo:
            return finish(probe_result::fail("connection closed after EHLO over TLS"));
        case phase::quit:
            // The server accepted our greeting; closing on QUIT without 221 is rude, not down.
            if (reader_.idle()) {
                return finish(probe_result::ok());
            }
            return finish(probe_result::fail("connection closed inside the QUIT reply"));
        case phase::done:
            break;
    }
    return {};
}

}  // namespace vigil::checkers
