#include "checkers/icmp_echo.hpp"

namespace vigil::checkers {

namespace {

constexpr std::uint8_t echo_request_v4 = 8;
constexpr std::uint8_t echo_reply_v4 = 0;
constexpr std::uint8_t echo_request_v6 = 128;
constexpr std::uint8_t echo_reply_v6 = 129;
constexpr std::size_t header_size = 8;

}  // namespace

std::uint16_t internet_checksum(std::span<const std::uint8_t> data) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < data.size(); i += 2) {
        sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
    }
    if (data.size() % 2 != 0) {
        sum += static_cast<std::uint32_t>(data.back() << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::vector<std::uint8_t> encode_echo_request(icmp_version version, std::uint16_t id,
                                              std::uint16_t sequence,
                                              std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> out(header_size + payload.size(), 0);
    out[0] = version == icmp_version::v4 ? echo_request_v4 : echo_request_v6;
    out[4] = static_cast<std::uint8_t>(id >> 8);
    out[5] = static_cast<std::uint8_t>(id & 0xff);
    out[6] = static_cast<std::uint8_t>(sequence >> 8);
    out[7] = static_cast<std::uint8_t>(sequence & 0xff);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        out[header_size + i] = payload[i];
    }
    if (version == icmp_version::v4) {
        auto sum = internet_checksum(out);
        out[2] = static_cast<std::uint8_t>(sum >> 8);
        out[3] = static_cast<std::uint8_t>(sum & 0xff);
    }
    return out;
}

std::optional<echo_reply> decode_echo_reply(icmp_version version,
                                            std::span<const std::uint8_t> packet,
                                            bool with_ip_header) {
    if (with_ip_header && version == icmp_version::v4) {
        if (packet.empty() || (packet[0] >> 4) != 4) {
            return std::nullopt;
        }
        std::size_t ip_header = static_cast<std::size_t>(packet[0] & 0x0f) * 4;
        if (ip_header < 20 || packet.size() < ip_header) {
            return std::nullopt;
        }
        packet = packet.subspan(ip_header);
    }
    if (packet.size() < header_size) {
        return std::nullopt;
    }
    auto expected = version == icmp_version::v4 ? echo_reply_v4 : echo_reply_v6;
    if (packet[0] != expected || packet[1] != 0) {
        return std::nullopt;
    }
    if (version == icmp_version::v4 && internet_checksum(packet) != 0) {
        return std::nullopt;
    }
    return echo_reply{static_cast<std::uint16_t>(packet[4] << 8 | packet[5]),
                      static_cast<std::uint16_t>(packet[6] << 8 | packet[7])};
}

}  // namespace vigil::checkers
