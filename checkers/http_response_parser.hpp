#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::checkers {

// Where a parser hands the body bytes it decoded (chunk framing removed).
class http_body_sink {
  public:
    // Returns false to stop reading: the body limit was reached.
    virtual bool on_body(std::string_view bytes) = 0;

  protected:
    ~http_body_sink() = default;
};

// An incremental HTTP/1.x response parser: status line, headers, then a body delimited by
// Content-Length, chunked encoding or the end of the connection. It is fed bytes as they arrive,
// in pieces of any size, and never allocates once its line buffer has grown to the longest line
// seen. Pure: no socket, no clock, so it is unit-tested and fuzzed as it is.
class http_response_parser {
  public:
    enum class outcome { need_more, complete, invalid };

    // Longest status line + headers accepted; a server that sends more is not a healthy one.
    static constexpr std::size_t default_header_limit = 16 * 1024;

    explicit http_response_parser(std::size_t header_limit = default_header_limit);

    // Before each response. A response to HEAD has no body, whatever its headers announce.
    void reset(bool head_request);
    // Consumes `bytes`; body bytes go to `body`. Once it returns complete or invalid, further
    // calls return the same without looking at the bytes.
    outcome feed(std::string_view bytes, http_body_sink& body);
    // The peer closed the connection: completes a close-delimited body, fails anything else
    // that is unfinished.
    outcome end_of_stream();

    outcome state() const { return outcome_; }
    unsigned status() const { return status_; }
    // The connection may carry another request: the response said so (HTTP/1.1 without
    // "Connection: close", or 1.0 with keep-alive), its body was framed and read to the end.
    bool keep_alive() const { return outcome_ == outcome::complete && keep_alive_ && !stopped_; }
    // The body sink asked to stop before the body ended.
    bool stopped_by_sink() const { return stopped_; }
    // Whether any byte arrived: a connection closed before that is an "empty reply".
    bool received_anything() const { return received_ != 0; }
    // Why the response is invalid, in the words of a probe's reason ("empty reply",
    // "body cut short", "invalid HTTP response: ...").
    std::string_view error() const { return error_; }

  private:
    enum class phase {
        status_line,
        header_line,
        body_length,
        chunk_size,
        chunk_data,
        chunk_data_end,
        trailer_line,
        body_until_close,
        done,
    };

    outcome fail(std::string_view why);
    outcome finish();
    // Takes one line (without its line end) out of `bytes`, joining it with what earlier pieces
    // left; false when the line is still incomplete.
    bool take_line(std::string_view& bytes, std::string_view& line, std::size_t limit);
    outcome on_status_line(std::string_view line);
    outcome on_header_line(std::string_view line);
    outcome on_headers_end();
    outcome on_chunk_size(std::string_view line);
    outcome deliver(std::string_view& bytes, std::uint64_t& remaining, http_body_sink& body);

    std::size_t header_limit_;
    bool head_request_ = false;
    phase phase_ = phase::status_line;
    outcome outcome_ = outcome::need_more;
    std::string line_;  // a line that arrived in pieces
    std::size_t header_bytes_ = 0;
    std::uint64_t received_ = 0;
    unsigned status_ = 0;
    bool http11_ = false;
    bool connection_close_ = false;
    bool connection_keep_alive_ = false;
    bool chunked_ = false;
    bool has_length_ = false;
    std::uint64_t length_ = 0;
    std::uint64_t remaining_ = 0;
    bool keep_alive_ = false;
    bool stopped_ = false;
    std::string error_;
};

}  // namespace vigil::checkers
