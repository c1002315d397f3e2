#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::announce {

// BIRD's control-socket protocol (doc/prog: "Remote control"): every line of a reply starts with
// a four-digit code; "DDDD-text" continues the reply, " text" (a leading space) continues it with
// the previous code, and "DDDD text" is its last line. Codes 0xxx say a command completed, 1xxx
// and 2xxx carry table rows and headers, 8xxx are run-time errors and 9xxx parse errors. The
// connection opens with the reply "0001 BIRD x.y.z ready.".
struct bird_line {
    int code = 0;
    std::string text;
};

struct bird_reply {
    int code = 0;  // of the last line
    std::vector<bird_line> lines;
    bool ok() const { return code < 8000; }
    // The last line's text (what an error says).
    std::string message() const { return lines.empty() ? std::string{} : lines.back().text; }
};

// Splits the byte stream into replies, a pure core fed with whatever the socket read. Bounded:
// a line over `max_line` bytes or a reply over `max_reply` bytes is malformed, as is a line that
// is neither form above; after that the parser stays failed (the connection must be dropped,
// its framing is lost).
class bird_reply_parser {
  public:
    explicit bird_reply_parser(std::size_t max_line = 16 * 1024,
                               std::size_t max_reply = 4 * 1024 * 1024)
        : max_line_(max_line), max_reply_(max_reply) {}

    // Consumes `bytes`; complete replies become available through next().
    void feed(std::string_view bytes);
    std::optional<bird_reply> next();
    // Why the stream is unusable, once it is.
    const std::optional<std::string>& failure() const { return failure_; }

  private:
    void take_line(std::string_view line);
    void fail(std::string why);

    std::size_t max_line_;
    std::size_t max_reply_;
    std::string partial_;  // a line not ended yet
    bird_reply current_;
    std::size_t current_size_ = 0;
    std::vector<bird_reply> ready_;
    std::size_t ready_taken_ = 0;
    std::optional<std::string> failure_;
};

// One row of `show protocols`: "name proto table state since info".
struct bird_protocol {
    std::string name;
    std::string protocol;
    std::string table;
    std::string state;
    std::string since;
    std::string info;
};
// The rows of a `show protocols` reply (code 1002 lines; the 2002 header is skipped).
std::vector<bird_protocol> parse_show_protocols(const bird_reply& reply);

}  // namespace vigil::announce
