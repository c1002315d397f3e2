#include "ipvs/netlink_message.hpp"

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstring>
#include <limits>

namespace vigil::ipvs::netlink {

static_assert(message_header_size == sizeof(nlmsghdr));
static_assert(genl_header_size == sizeof(genlmsghdr));
static_assert(attribute_header_size == sizeof(nlattr));

namespace {

constexpr std::size_t align4(std::size_t n) {
    return (n + 3) & ~std::size_t{3};
}

template <typename T>
T load(const std::uint8_t* at) {
    T value;
    std::memcpy(&value, at, sizeof value);
    return value;
}

template <typename T>
void store(std::uint8_t* at, T value) {
    std::memcpy(at, &value, sizeof value);
}

constexpr auto attribute_type_mask =
    static_cast<std::uint16_t>(NLA_TYPE_MASK);  // drops NESTED and NET_BYTEORDER

}  // namespace

message_builder::message_builder(std::uint16_t family, std::uint8_t command, std::uint8_t version,
                                 std::uint16_t flags)
    : bytes_(message_header_size + genl_header_size, 0) {
    store<std::uint16_t>(bytes_.data() + offsetof(nlmsghdr, nlmsg_type), family);
    store<std::uint16_t>(bytes_.data() + offsetof(nlmsghdr, nlmsg_flags),
                         static_cast<std::uint16_t>(flags | NLM_F_REQUEST));
    bytes_[message_header_size + offsetof(genlmsghdr, cmd)] = command;
    bytes_[message_header_size + offsetof(genlmsghdr, version)] = version;
}

std::size_t message_builder::put_header(std::uint16_t type, std::size_t value_size) {
    std::size_t at = bytes_.size();
    std::size_t length = attribute_header_size + value_size;
    if (length > std::numeric_limits<std::uint16_t>::max()) {
        overflowed_ = true;
        length = 0;
    }
    bytes_.resize(at + attribute_header_size);
    store<std::uint16_t>(bytes_.data() + at, static_cast<std::uint16_t>(length));
    store<std::uint16_t>(bytes_.data() + at + 2, type);
    return at;
}

void message_builder::pad() {
    bytes_.resize(align4(bytes_.size()), 0);
}

void message_builder::put_bytes(std::uint16_t type, byte_view value) {
    put_header(type, value.size());
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    pad();
}

void message_builder::put_u8(std::uint16_t type, std::uint8_t value) {
    put_bytes(type, {&value, 1});
}

void message_builder::put_u16(std::uint16_t type, std::uint16_t value) {
    std::uint8_t raw[2];
    store(raw, value);
    put_bytes(type, raw);
}

void message_builder::put_u32(std::uint16_t type, std::uint32_t value) {
    std::uint8_t raw[4];
    store(raw, value);
    put_bytes(type, raw);
}

void message_builder::put_string(std::uint16_t type, std::string_view value) {
    put_header(type, value.size() + 1);
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    bytes_.push_back(0);
    pad();
}

std::size_t message_builder::begin_nest(std::uint16_t type) {
    // Without NLA_F_NESTED, as ipvsadm sends them: IPVS parses its nests liberally either way.
    return put_header(type, 0);
}

void message_builder::end_nest(std::size_t nest) {
    std::size_t length = bytes_.size() - nest;
    if (length > std::numeric_limits<std::uint16_t>::max()) {
        overflowed_ = true;
        return;
    }
    store<std::uint16_t>(bytes_.data() + nest, static_cast<std::uint16_t>(length));
}

std::optional<bytes> message_builder::finish() && {
    if (overflowed_ || bytes_.size() > std::numeric_limits<std::uint32_t>::max()) {
        return std::nullopt;
    }
    store<std::uint32_t>(bytes_.data() + offsetof(nlmsghdr, nlmsg_len),
                         static_cast<std::uint32_t>(bytes_.size()));
    return std::move(bytes_);
}

void stamp(std::span<std::uint8_t> message, std::uint32_t sequence, std::uint32_t port) {
    if (message.size() >= message_header_size) {
        store(message.data() + offsetof(nlmsghdr, nlmsg_seq), sequence);
        store(message.data() + offsetof(nlmsghdr, nlmsg_pid), port);
    }
}

std::uint32_t sequence_of(byte_view message) {
    return message.size() >= message_header_size
               ? load<std::uint32_t>(message.data() + offsetof(nlmsghdr, nlmsg_seq))
               : 0;
}

namespace {

// The errno in NLMSG_ERROR and NLMSG_DONE is negative; a positive or absurd one is malformed.
std::optional<int> errno_from(const std::uint8_t* at) {
    auto value = load<std::int32_t>(at);
    if (value > 0 || value == std::numeric_limits<std::int32_t>::min()) {
        return std::nullopt;
    }
    return -value;
}

}  // namespace

std::optional<std::vector<reply>> parse_replies(byte_view datagram) {
    std::vector<reply> out;
    std::size_t at = 0;
    while (at < datagram.size()) {
        std::size_t left = datagram.size() - at;
        if (left < message_header_size) {
            return std::nullopt;
        }
        const std::uint8_t* header = datagram.data() + at;
        auto length = load<std::uint32_t>(header + offsetof(nlmsghdr, nlmsg_len));
        if (length < message_header_size || length > left) {
            return std::nullopt;
        }
        reply r;
        r.type = load<std::uint16_t>(header + offsetof(nlmsghdr, nlmsg_type));
        r.flags = load<std::uint16_t>(header + offsetof(nlmsghdr, nlmsg_flags));
        r.sequence = load<std::uint32_t>(header + offsetof(nlmsghdr, nlmsg_seq));
        const std::uint8_t* payload = header + message_header_size;
        std::size_t payload_size = length - message_header_size;
        if (r.type == NLMSG_NOOP) {
            // nothing to report
        } else if (r.type == NLMSG_ERROR) {
            // The errno, then the header of the request it answers (and maybe more).
            if (payload_size < 4 + message_header_size) {
                return std::nullopt;
            }
            auto error = errno_from(payload);
            if (!error) {
                return std::nullopt;
            }
            r.what = reply::kind::error;
            r.error = *error;
            out.push_back(r);
        } else if (r.type == NLMSG_DONE) {
            if (payload_size < 4) {
                return std::nullopt;
            }
            auto error = errno_from(payload);
            if (!error) {
                return std::nullopt;
            }
            r.what = reply::kind::done;
            r.error = *error;
            out.push_back(r);
        } else if (r.type >= NLMSG_MIN_TYPE) {
            if (payload_size < genl_header_size) {
                return std::nullopt;
            }
            r.what = reply::kind::data;
            r.command = payload[offsetof(genlmsghdr, cmd)];
            r.attributes = byte_view(payload + genl_header_size, payload_size - genl_header_size);
            out.push_back(r);
        } else {
            return std::nullopt;  // NLMSG_OVERRUN and reserved types: never part of an answer
        }
        // The last message may end without its padding.
        at += std::min<std::size_t>(align4(length), left);
    }
    return out;
}

std::optional<attribute_set> attribute_set::parse(byte_view attributes, std::uint16_t max_type) {
    attribute_set set;
    set.by_type_.resize(std::size_t{max_type} + 1);
    std::size_t at = 0;
    while (at < attributes.size()) {
        std::size_t left = attributes.size() - at;
        if (left < attribute_header_size) {
            return std::nullopt;
        }
        const std::uint8_t* header = attributes.data() + at;
        std::size_t length = load<std::uint16_t>(header);
        if (length < attribute_header_size || length > left) {
            return std::nullopt;
        }
        std::uint16_t type = load<std::uint16_t>(header + 2) & attribute_type_mask;
        if (type <= max_type) {
            set.by_type_[type] =
                byte_view(header + attribute_header_size, length - attribute_header_size);
        }
        at += std::min(align4(length), left);
    }
    return set;
}

std::optional<byte_view> attribute_set::find(std::uint16_t type) const {
    if (type >= by_type_.size()) {
        return std::nullopt;
    }
    return by_type_[type];
}

namespace {
template <typename T>
std::optional<T> read_exact(byte_view value) {
    if (value.size() != sizeof(T)) {
        return std::nullopt;
    }
    return load<T>(value.data());
}
}  // namespace

std::optional<std::uint8_t> read_u8(byte_view value) {
    return read_exact<std::uint8_t>(value);
}
std::optional<std::uint16_t> read_u16(byte_view value) {
    return read_exact<std::uint16_t>(value);
}
std::optional<std::uint32_t> read_u32(byte_view value) {
    return read_exact<std::uint32_t>(value);
}
std::optional<std::uint64_t> read_u64(byte_view value) {
    return read_exact<std::uint64_t>(value);
}

std::string_view read_string(byte_view value) {
    if (value.empty()) {
        return {};
    }
    const auto* text = reinterpret_cast<const char*>(value.data());
    const void* nul = std::memchr(text, 0, value.size());
    std::size_t size =
        nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - text) : value.size();
    return {text, size};
}

}  // namespace vigil::ipvs::netlink
