#pragma once

// Kernel-style netlink messages written byte by byte, independently of the codec's own builder,
// so the codec is checked against the wire format rather than against itself.

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace vigil::ipvs::test {

using wire = std::vector<std::uint8_t>;

// Byte by byte: g++ 12 at -O2 warns falsely (stringop-overflow) on vector range inserts here.
inline void append(wire& w, const wire& more) {
    for (auto b : more) {
        w.push_back(b);
    }
}

inline void append_u16(wire& w, std::uint16_t v) {
    std::uint8_t raw[2];
    std::memcpy(raw, &v, 2);
    append(w, wire(raw, raw + 2));
}

inline void append_u32(wire& w, std::uint32_t v) {
    std::uint8_t raw[4];
    std::memcpy(raw, &v, 4);
    append(w, wire(raw, raw + 4));
}

inline void append_u64(wire& w, std::uint64_t v) {
    std::uint8_t raw[8];
    std::memcpy(raw, &v, 8);
    append(w, wire(raw, raw + 8));
}

inline void pad4(wire& w) {
    while (w.size() % 4) {
        w.push_back(0);
    }
}

// One attribute: header, value, padding.
inline wire attr(std::uint16_t type, const wire& value) {
    wire w;
    append_u16(w, static_cast<std::uint16_t>(4 + value.size()));
    append_u16(w, type);
    append(w, value);
    pad4(w);
    return w;
}

inline wire u8v(std::uint8_t v) {
    return {v};
}
inline wire u16v(std::uint16_t v) {
    wire w;
    append_u16(w, v);
    return w;
}
inline wire be16v(std::uint16_t v) {
    return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v & 0xff)};
}
inline wire u32v(std::uint32_t v) {
    wire w;
    append_u32(w, v);
    return w;
}
inline wire u64v(std::uint64_t v) {
    wire w;
    append_u64(w, v);
    return w;
}
inline wire str(std::string_view s) {
    wire w(s.begin(), s.end());
    w.push_back(0);
    return w;
}
inline wire raw(std::initializer_list<std::uint8_t> bytes) {
    return wire(bytes);
}
// union nf_inet_addr holding the given leading bytes.
inline wire inet(std::initializer_list<std::uint8_t> bytes) {
    wire w(bytes);
    w.resize(16, 0);
    return w;
}

inline wire cat(std::initializer_list<wire> parts) {
    wire w;
    for (const auto& p : parts) {
        append(w, p);
    }
    return w;
}

inline wire header(std::uint32_t length, std::uint16_t type, std::uint16_t flags,
                   std::uint32_t seq) {
    wire w;
    append_u32(w, length);
    append_u16(w, type);
    append_u16(w, flags);
    append_u32(w, seq);
    append_u32(w, 0);  // the kernel's port
    return w;
}

// A generic netlink data message: IPVS family id `family`, command, attributes.
inline wire data_message(std::uint16_t family, std::uint8_t command, std::uint32_t seq,
                         const wire& attributes, std::uint16_t flags = NLM_F_MULTI) {
    wire w = header(static_cast<std::uint32_t>(16 + 4 + attributes.size()), family, flags, seq);
    w.push_back(command);
    w.push_back(IPVS_GENL_VERSION);
    append_u16(w, 0);
    append(w, attributes);
    return w;
}

inline wire done_message(std::uint32_t seq, int error = 0) {
    wire w = header(20, NLMSG_DONE, NLM_F_MULTI, seq);
    append_u32(w, static_cast<std::uint32_t>(-error));
    return w;
}

// NLMSG_ERROR: error 0 is an acknowledgement. The request's header follows, as with
// NETLINK_CAP_ACK.
inline wire error_message(std::uint32_t seq, int error) {
    wire w = header(36, NLMSG_ERROR, 0, seq);
    append_u32(w, static_cast<std::uint32_t>(-error));
    wire request = header(20, 0x20, NLM_F_REQUEST | NLM_F_ACK, seq);
    append(w, request);
    return w;
}

}  // namespace vigil::ipvs::test
