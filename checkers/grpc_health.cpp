#include "checkers/grpc_health.hpp"

#include <array>
#include <cctype>
#include <charconv>

namespace vigil::checkers {

namespace {

constexpr std::size_t frame_header = 5;
// How much of grpc-message a reason quotes.
constexpr std::size_t quoted_text = 100;

void put_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out += static_cast<char>(static_cast<std::uint8_t>(value) | 0x80);
        value >>= 7;
    }
    out += static_cast<char>(value);
}

// Reads a varint at `at`; nothing when it runs past the end or past ten bytes.
std::optional<std::uint64_t> get_varint(std::string_view in, std::size_t& at) {
    std::uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (at >= in.size()) {
            return std::nullopt;
        }
        auto byte = static_cast<std::uint8_t>(in[at++]);
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            return value;
        }
    }
    return std::nullopt;
}

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

// grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
std::string percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned value = 0;
        if (text[i] == '%' && i + 2 < text.size() &&
            std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
                text.data() + i + 3) {
            out += static_cast<char>(value);
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

bool name_is(std::string_view name, std::string_view want) {
    if (name.size() != want.size()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(name[i])) != want[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string grpc_serving_status_name(std::uint64_t status) {
    switch (status) {
        case 0:
            return "UNKNOWN";
        case 1:
            return "SERVING";
        case 2:
            return "NOT_SERVING";
        case 3:
            return "SERVICE_UNKNOWN";
        default:
            return "status " + std::to_string(status);
    }
}

std::string grpc_status_name(std::uint64_t code) {
    static constexpr std::array<const char*, 17> names{"OK",
                                                       "CANCELLED",
                                                       "UNKNOWN",
                                                       "INVALID_ARGUMENT",
                                                       "DEADLINE_EXCEEDED",
                                                       "NOT_FOUND",
                                                       "ALREADY_EXISTS",
                                                       "PERMISSION_DENIED",
                                                       "RESOURCE_EXHAUSTED",
                                                       "FAILED_PRECONDITION",
                                                       "ABORTED",
                                                       "OUT_OF_RANGE",
                                                       "UNIMPLEMENTED",
                                                       "INTERNAL",
                                                       "UNAVAILABLE",
                                                       "DATA_LOSS",
                                                       "UNAUTHENTICATED"};
    if (code < names.size()) {
        return names[code];
    }
    return std::to_string(code);
}

std::string encode_grpc_health_request(std::string_view service) {
    std::string message;
    if (!service.empty()) {
        message += '\x0a';  // field 1, length-delimited
        put_varint(message, service.size());
        message += service;
    }
    std::string out;
    out += '\0';  // not compressed
    auto length = static_cast<std::uint32_t>(message.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
        out += static_cast<char>(static_cast<std::uint8_t>(length >> shift));
    }
    return out + message;
}

parse_result<std::uint64_t> decode_grpc_health_response(std::string_view message) {
    using result = parse_result<std::uint64_t>;
    std::uint64_t status = 0;
    std::size_t at = 0;
    while (at < message.size()) {
        auto key = get_varint(message, at);
        if (!key) {
            return result::failure("gRPC health response has a broken field key");
        }
        auto field = *key >> 3;
        auto wire = *key & 7;
        if (field == 0) {
            return result::failure("gRPC health response has field number 0");
        }
        if (field == 1 && wire != 0) {
            return result::failure("gRPC health response's status is not a varint");
        }
        switch (wire) {
            case 0: {
                auto value = get_varint(message, at);
                if (!value) {
                    return result::failure("gRPC health response has a broken varint");
                }
                if (field == 1) {
                    status = *value;  // the last one wins, as protobuf says
                }
                break;
            }
            case 1:
            case 5: {
                std::size_t width = wire == 1 ? 8 : 4;
                if (message.size() - at < width) {
                    return result::failure("gRPC health response is cut short");
                }
                at += width;
                break;
            }
            case 2: {
                auto length = get_varint(message, at);
                if (!length || *length > message.size() - at) {
                    return result::failure("gRPC health response is cut short");
                }
                at += static_cast<std::size_t>(*length);
                break;
            }
            default:
                return result::failure("gRPC health response has wire type " +
                                       std::to_string(wire));
        }
    }
    return status;
}

void grpc_health_call::reset() {
    body_.clear();
    grpc_status_.reset();
    grpc_message_.clear();
    overflowed_ = false;
}

void grpc_health_call::feed_header(std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
        return;  // the status line, or the blank line that ends a block
    }
    auto name = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    if (name_is(name, "grpc-status")) {
        grpc_status_ = std::string(value.substr(0, 16));
    } else if (name_is(name, "grpc-message")) {
        grpc_message_ = clean(percent_decoded(value.substr(0, 4 * quoted_text)));
    }
}

bool grpc_health_call::feed_body(std::string_view chunk) {
    if (chunk.size() > max_body - body_.size()) {
        overflowed_ = true;
        return false;
    }
    body_.append(chunk);
    return true;
}

probe_result grpc_health_call::verdict(unsigned http_status) const {
    if (overflowed_) {
        return probe_result::fail("gRPC response longer than " + std::to_string(max_body) +
                                  " bytes");
    }
    if (http_status != 200) {
        return probe_result::fail("HTTP status " + std::to_string(http_status) +
                                  " to the gRPC call");
    }
    if (!grpc_status_) {
        return probe_result::fail("gRPC response without grpc-status");
    }
    std::uint64_t code = 0;
    auto [end, ec] =
        std::from_chars(grpc_status_->data(), grpc_status_->data() + grpc_status_->size(), code);
    if (ec != std::errc{} || end != grpc_status_->data() + grpc_status_->size()) {
        return probe_result::fail("gRPC grpc-status \"" + clean(*grpc_status_) +
                                  "\" is not a number");
    }
    if (code != 0) {
        std::string why = "gRPC status " + grpc_status_name(code);
        if (!grpc_message_.empty()) {
            why += ": " + grpc_message_;
        }
        return probe_result::fail(std::move(why));
    }
    if (body_.size() < frame_header) {
        return probe_result::fail("gRPC response has no message");
    }
    if (body_[0] != '\0') {
        return probe_result::fail(body_[0] == '\1' ? "gRPC response is compressed"
                                                   : "gRPC response has a bad frame flag");
    }
    std::uint32_t length = 0;
    for (std::size_t i = 1; i < frame_header; ++i) {
        length = length << 8 | static_cast<std::uint8_t>(body_[i]);
    }
    if (length != body_.size() - frame_header) {
        return probe_result::fail(length > body_.size() - frame_header
                                      ? "gRPC response message is cut short"
                                      : "gRPC response holds more than one message");
    }
    auto status = decode_grpc_health_response(std::string_view(body_).substr(frame_header));
    if (!status) {
        return probe_result::fail(status.error());
    }
    if (*status != static_cast<std::uint64_t>(grpc_serving_status::serving)) {
        return probe_result::fail("gRPC health " + grpc_serving_status_name(*status));
    }
    return probe_result::ok();
}

}  // namespace vigil::checkers
