#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkers/probe_result.hpp"

namespace vigil::checkers {

// One SMTP reply (RFC 5321 4.2): its code and the text of its first line, cleaned for a log.
struct smtp_reply {
    unsigned code = 0;
    std::string text;
    // The first word of every line after the first, in upper case: in a reply to EHLO, the
    // extensions the server offers ("STARTTLS", "SIZE", ...; RFC 5321 4.1.1.1). Words longer
    // than max_keyword are left out, so a reply of 128 long lines keeps at most a few KiB.
    std::vector<std::string> keywords;
    static constexpr std::size_t max_keyword = 32;

    bool offers(std::string_view keyword) const;
};

// Splits a server's bytes into SMTP replies, multi-line ones ("250-first", "250 last") included.
// Memory is bounded whatever the server sends: a line longer than max_line or a reply of more
// than max_lines lines is an error, not a bigger buffer.
class smtp_reply_reader {
  public:
    // RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers stay far below. Twice
    // that leaves room for servers that overstep it a little.
    static constexpr std::size_t max_line = 1024;
    static constexpr std::size_t max_lines = 128;

    struct outcome {
        std::optional<smtp_reply> reply;  // a complete reply
        std::string error;                // the server broke the protocol; nothing more to read
        std::size_t consumed = 0;         // bytes of the input used, up to the reply's last line
    };

    // Reads from `data` until a reply is complete (or an error); bytes after the reply are not
    // consumed. A partial line is kept (at most max_line bytes) for the next call.
    outcome feed(std::string_view data);
    // Nothing of a reply read so far.
    bool idle() const { return partial_.empty() && lines_ == 0; }

  private:
    std::string partial_;
    unsigned lines_ = 0;
    std::optional<unsigned> code_;
    std::string first_text_;
    std::vector<std::string> keywords_;
};

// The dialogue of one SMTP check, without I/O: wait for the 220 greeting, EHLO (HELO when the
// server does not know EHLO), expect 250, QUIT. The shell writes what each step returns to send
// and stops at the verdict.
//
// With STARTTLS (RFC 3207): the EHLO reply must offer STARTTLS (an RFC 821 server that knows
// only HELO cannot), STARTTLS must be answered 220, and then the step asks the shell for a TLS
// handshake on the same connection; once it succeeded (on_tls_established), EHLO again over TLS,
// expect 250, QUIT. A failed handshake is the shell's verdict (it knows OpenSSL's reason).
class smtp_dialogue {
  public:
    // `helo_name` goes into EHLO/HELO as it is; the config proved it a name or address literal.
    explicit smtp_dialogue(std::string helo_name, bool starttls = false);

    struct step {
        std::string send;                     // bytes to write now (may be empty)
        std::optional<probe_result> verdict;  // set: the check is decided; stop reading
        // Set: run the TLS handshake now, before reading or writing anything else, then call
        // on_tls_established. Nothing the server sent in plaintext is left over by then.
        bool start_tls = false;
    };
    // Bytes from the server (decrypted ones once TLS is up).
    step on_data(std::string_view data);
    // The server closed the connection.
    step on_eof();
    // The handshake the last step asked for succeeded (and verified the server, if asked to).
    step on_tls_established();

  private:
    enum class phase { greeting, ehlo, helo, starttls, handshake, tls_ehlo, quit, done };
    step on_reply(const smtp_reply& reply);
    step finish(probe_result result);

    std::string helo_name_;
    bool starttls_;
    smtp_reply_reader reader_;
    phase phase_ = phase::greeting;
};

}  // namespace vigil::checkers
