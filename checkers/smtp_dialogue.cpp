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

}  // namespace

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
        }
        bool last = line.size() == 3 || line[3] == ' ';
        partial_.clear();
        if (++lines_ > max_lines) {
            out.error = "SMTP reply longer than " + std::to_string(max_lines) + " lines";
            return out;
        }
        if (last) {
            out.reply = smtp_reply{*code_, std::move(first_text_)};
            code_.reset();
            first_text_.clear();
            lines_ = 0;
            return out;
        }
    }
    return out;
}

smtp_dialogue::smtp_dialogue(std::string helo_name) : helo_name_(std::move(helo_name)) {}

smtp_dialogue::step smtp_dialogue::finish(probe_result result) {
    phase_ = phase::done;
    return step{{}, std::move(result)};
}

smtp_dialogue::step smtp_dialogue::on_data(std::string_view data) {
    if (phase_ == phase::done) {
        return {};
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
            if (reply.code == 250) {
                phase_ = phase::quit;
                return step{"QUIT\r\n", {}};
            }
            // 500 unknown command, 502 not implemented: an RFC 821 server; HELO is its greeting.
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
        case phase::quit:
            if (reply.code != 221) {
                return wrong("QUIT answered", 221);
            }
            return finish(probe_result::ok());
        case phase::done:
            break;
    }
    return {};
}

smtp_dialogue::step smtp_dialogue::on_eof() {
    switch (phase_) {
        case phase::greeting:
            return finish(probe_result::fail("connection closed before the SMTP greeting"));
        case phase::ehlo:
            return finish(probe_result::fail("connection closed after EHLO"));
        case phase::helo:
            return finish(probe_result::fail("connection closed after HELO"));
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
