#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ipvs/backend.hpp"
#include "ipvs/model.hpp"
#include "ipvs/netlink_message.hpp"
#include "ipvs/operation.hpp"

// The IPVS generic netlink family's attributes (<linux/ip_vs.h>) to and from the model, with no
// socket: every request the netlink backend sends is built here, and every reply it receives is
// read here. `family` is the generic netlink family id the kernel gave "IPVS".
//
// Decoding is strict: an attribute present with the wrong size, a missing identifying attribute
// (address family, address, port, protocol) or a nest whose lengths do not add up refuses the
// whole entry. Attributes vigil does not know are ignored.
namespace vigil::ipvs {

// IPVS_CMD_GET_INFO: the IPVS version (0x010201 = 1.2.1) and the connection table size.
struct kernel_info {
    std::uint32_t version = 0;
    std::uint32_t connection_table_size = 0;
};
std::string version_string(std::uint32_t version);

// Requests. Nothing when the message cannot be encoded (a name longer than an attribute holds).
std::optional<netlink::bytes> encode_operation(std::uint16_t family, const operation& op);
std::optional<netlink::bytes> encode_service_dump(std::uint16_t family);
std::optional<netlink::bytes> encode_destination_dump(std::uint16_t family, const service& owner);
std::optional<netlink::bytes> encode_info_request(std::uint16_t family);
std::optional<netlink::bytes> encode_daemon_dump(std::uint16_t family);
std::optional<netlink::bytes> encode_daemon_start(std::uint16_t family, const sync_daemon& daemon);
std::optional<netlink::bytes> encode_daemon_stop(std::uint16_t family, sync_role role);

// Replies: `attributes` is one data message's top-level attributes (netlink::reply::attributes).
std::optional<service> decode_service(netlink::byte_view attributes);
// A destination without IPVS_DEST_ATTR_ADDR_FAMILY (kernels before 5.x) has its service's family.
std::optional<destination> decode_destination(netlink::byte_view attributes,
                                              address_family service_family);
std::optional<sync_daemon> decode_daemon(netlink::byte_view attributes);
std::optional<kernel_info> decode_info(netlink::byte_view attributes);

}  // namespace vigil::ipvs
