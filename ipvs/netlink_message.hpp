#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

// Generic netlink framing with no socket: requests are built as bytes, replies are read from the
// bytes of one received datagram. Everything the kernel sends is checked against its own length
// fields before it is read; anything that does not add up is refused as a whole.
//
// Layout (<linux/netlink.h>, <linux/genetlink.h>), every part padded to 4 bytes:
//   nlmsghdr (16) | genlmsghdr (4) | attribute* ; attribute = nlattr (4: length, type) | value
namespace vigil::ipvs::netlink {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

inline constexpr std::size_t message_header_size = 16;   // sizeof(nlmsghdr)
inline constexpr std::size_t genl_header_size = 4;       // sizeof(genlmsghdr)
inline constexpr std::size_t attribute_header_size = 4;  // sizeof(nlattr)

// One generic netlink request. The sequence number and port are left zero: the transport
// stamps them when it sends (stamp()), so a built message says only what is asked.
class message_builder {
  public:
    message_builder(std::uint16_t family, std::uint8_t command, std::uint8_t version,
                    std::uint16_t flags);

    void put_u8(std::uint16_t type, std::uint8_t value);
    void put_u16(std::uint16_t type, std::uint16_t value);  // host order, as NLA_U16
    void put_u32(std::uint16_t type, std::uint32_t value);  // host order, as NLA_U32
    void put_bytes(std::uint16_t type, byte_view value);
    void put_string(std::uint16_t type, std::string_view value);  // NUL-terminated, as NLA_STRING

    // A nest is an attribute whose value is attributes; end_nest() writes its final length.
    std::size_t begin_nest(std::uint16_t type);
    void end_nest(std::size_t nest);

    // The finished message, or nothing when an attribute or the message outgrew its length field.
    std::optional<bytes> finish() &&;

  private:
    std::size_t put_header(std::uint16_t type, std::size_t value_size);
    void pad();

    bytes bytes_;
    bool overflowed_ = false;
};

// Writes the sequence number and port into a built message's header.
void stamp(std::span<std::uint8_t> message, std::uint32_t sequence, std::uint32_t port);
std::uint32_t sequence_of(byte_view message);

// One message of a reply datagram.
struct reply {
    enum class kind {
        data,   // a generic netlink message: command and attributes
        done,   // NLMSG_DONE: the end of a dump; error carries the dump's failure, if any
        error,  // NLMSG_ERROR: error 0 is an acknowledgement, else the kernel's errno
    };
    kind what = kind::data;
    std::uint16_t type = 0;
    std::uint16_t flags = 0;
    std::uint32_t sequence = 0;
    int error = 0;             // positive errno for done and error
    std::uint8_t command = 0;  // data only
    byte_view attributes;      // data only: the top-level attributes after the genl header
};

// Every message of one datagram in order (NLMSG_NOOP skipped), or nothing when any header,
// length or payload is malformed.
std::optional<std::vector<reply>> parse_replies(byte_view datagram);

// The attributes of one nesting level, indexed by type (NLA_F_NESTED and NLA_F_NET_BYTEORDER
// masked off). Types above `max_type` are ignored: a newer kernel may add some. When a type
// repeats, the last one counts, as with the kernel's own nla_parse.
class attribute_set {
  public:
    static std::optional<attribute_set> parse(byte_view attributes, std::uint16_t max_type);

    bool has(std::uint16_t type) const { return find(type).has_value(); }
    std::optional<byte_view> find(std::uint16_t type) const;

  private:
    std::vector<std::optional<byte_view>> by_type_;
};

// Fixed-size values: nothing unless the value is exactly that size.
std::optional<std::uint8_t> read_u8(byte_view value);
std::optional<std::uint16_t> read_u16(byte_view value);
std::optional<std::uint32_t> read_u32(byte_view value);
std::optional<std::uint64_t> read_u64(byte_view value);
// NLA_STRING: the value up to its first NUL (the whole value when it has none).
std::string_view read_string(byte_view value);

}  // namespace vigil::ipvs::netlink
