#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/parse_result.hpp"
#include "checkers/probe_result.hpp"

namespace vigil::checkers {

// The standard gRPC health protocol (grpc/health/v1/health.proto) without generated code: the
// request and response are one-field protobufs and the call is one length-prefixed message each
// way, so both are encoded and decoded here by hand, with strict bounds (fuzzed).

// HealthCheckResponse.ServingStatus; other numbers may come from newer servers.
enum class grpc_serving_status : std::uint32_t {
    unknown = 0,
    serving = 1,
    not_serving = 2,
    service_unknown = 3
};
std::string grpc_serving_status_name(std::uint64_t status);
// "OK", "UNIMPLEMENTED", ... for the 17 canonical codes; the number for others.
std::string grpc_status_name(std::uint64_t code);

inline constexpr std::string_view grpc_health_path = "/grpc.health.v1.Health/Check";

// HealthCheckRequest{service} in the gRPC framing (flag 0, 4-byte big-endian length).
std::string encode_grpc_health_request(std::string_view service);
// The ServingStatus of an unframed HealthCheckResponse message (0 when the field is absent, as
// proto3 omits defaults); unknown fields are skipped.
parse_result<std::uint64_t> decode_grpc_health_response(std::string_view message);

// Gathers one health call's response (headers, body, trailers) and judges it. Whatever the
// server sends, at most max_body bytes of body are kept.
class grpc_health_call {
  public:
    static constexpr std::size_t max_body = 1024;

    void reset();
    // One header or trailer line as libcurl hands it over ("grpc-status: 0\r\n"); a trailers-only
    // response carries grpc-status among the headers.
    void feed_header(std::string_view line);
    // Body bytes; false once more than max_body arrived (stop the transfer).
    bool feed_body(std::string_view chunk);
    // The verdict on a completed response with this HTTP status: healthy only on HTTP 200,
    // grpc-status 0 and one uncompressed message that says SERVING.
    probe_result verdict(unsigned http_status) const;
    bool overflowed() const { return overflowed_; }

  private:
    std::string body_;
    std::optional<std::string> grpc_status_;
    std::string grpc_message_;
    bool overflowed_ = false;
};

}  // namespace vigil::checkers
