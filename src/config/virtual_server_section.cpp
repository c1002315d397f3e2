#include "config/virtual_server_section.hpp"

#include <algorithm>
#include <map>

#include "config/check_section.hpp"
#include "config/choice.hpp"
#include "config/value_rules.hpp"

namespace vigil::config {
namespace {

using namespace std::chrono_literals;
// The base library's to_string overloads (addresses, families) beside this namespace's, which
// argument-dependent lookup still finds.
using vigil::to_string;

constexpr std::array families{choice<address_family>{"ipv4", address_family::ipv4},
                              choice<address_family>{"ipv6", address_family::ipv6}};
constexpr std::array failure_actions{choice<failure_action>{"remove", failure_action::remove},
                                     choice<failure_action>{"inhibit", failure_action::inhibit}};

std::optional<real_server> read_real_server(file_context& file, const toml::table& table,
                                            const std::string& path, const virtual_server& vs) {
    auto errors_before = file.error_count();
    table_reader reader(file, table, path);
    real_server server;
    server.where = file.at(table.source());
    reader.require("address");
    if (auto address =
            read_endpoint(reader, "address", vs.fwmark ? port_rule::any : port_rule::service)) {
        server.address = *address;
        // Without NAT the kernel does not rewrite the destination port, so it cannot differ.
        if (vs.address && vs.forwarding != ipvs::forwarding::nat &&
            address->port != vs.address->port) {
            reader.error("address", rule::bad_value,
                         "port " + std::to_string(address->port) +
                             " differs from the virtual "
                             "server's port " +
                             std::to_string(vs.address->port) +
                             ", which only forwarding = \"nat\" can translate");
        }
        if (address->port == 0 && !vs.fwmark) {
            reader.error("address", rule::out_of_range,
                         "port 0 is not a service port (1 to 65535)");
        }
    }
    if (auto weight = reader.integer("weight", 0, 65535)) {
        server.weight = static_cast<std::uint32_t>(*weight);
    }
    if (auto upper = reader.integer("upper_threshold", 0, 0xffffffffLL)) {
        server.upper_threshold = static_cast<std::uint32_t>(*upper);
    }
    if (auto lower = reader.integer("lower_threshold", 0, 0xffffffffLL)) {
        if (server.upper_threshold == 0 ||
            static_cast<std::uint32_t>(*lower) >= server.upper_threshold) {
            reader.error("lower_threshold", rule::conflicting_keys,
                         "needs an upper_threshold above it (new connections resume below the "
                         "lower one after reaching the upper one)");
        } else {
            server.lower_threshold = static_cast<std::uint32_t>(*lower);
        }
    }
    server.own_checks = read_checks(reader);
    if (!server.own_checks.empty() && file.error_count() == errors_before) {
        check_bind_families(file, table, path, server.own_checks, server.address.family(),
                            "real server " + to_string(server.address));
    }
    reader.finish();
    if (file.error_count() != errors_before) {
        return std::nullopt;
    }
    return server;
}

std::optional<announce_settings> read_announce(file_context& file, const toml::table& table,
                                               const virtual_server& vs) {
    auto errors_before = file.error_count();
    table_reader reader(file, table, "virtual_server.announce");
    announce_settings announce;
    announce.where = file.at(table.source());
    if (auto text = reader.string("prefix")) {
        auto prefix = parse_prefix(*text);
        if (!prefix) {
            reader.error("prefix", rule::bad_address, prefix.error());
        } else if (vs.address && prefix->family() != vs.address->family()) {
            reader.error("prefix", rule::family_mismatch,
                         *text + " is " + std::string(to_string(prefix->family())) +
                             " but the virtual server's address is " +
                             std::string(to_string(vs.address->family())));
        } else if (!announce::is_network(*prefix)) {
            reader.error("prefix", rule::bad_value,
                         *text +
                             " has bits set past its length; BIRD routes a network "
                             "(write the prefix's first address)");
        } else if (vs.address && !announce::prefix_contains(*prefix, vs.address->address)) {
            reader.error("prefix", rule::bad_value,
                         *text + " does not contain the virtual server's address " +
                             to_string(vs.address->address) +
                             ": the routers would send its traffic elsewhere");
        } else {
            announce.prefix = *prefix;
        }
    } else if (!reader.has("prefix")) {
        if (vs.address) {
            announce.prefix =
                ip_prefix{vs.address->address, vs.address->address.is_v4() ? 32u : 128u};
        } else if (vs.fwmark) {
            file.error(table.source(), rule::missing_key,
                       "virtual_server.announce: a fwmark virtual server has no address to "
                       "announce: set prefix");
        }
    }
    if (auto med = reader.integer("med", 0, 0xffffffffLL)) {
        announce.med = static_cast<std::uint32_t>(*med);
    }
    if (auto step = reader.integer("med_per_down_server", 0, 0xffffffffLL)) {
        announce.med_per_down_server = static_cast<std::uint32_t>(*step);
    }
    if (const auto* communities = reader.array("communities")) {
        for (const auto& item : *communities) {
            const auto* text = item.as_string();
            announce::community parsed;
            if (!text) {
                reader.error_at(item, "communities", rule::wrong_type,
                                "expected a community string (\"65001:100\" or "
                                "\"65001:1:2\"), got " +
                                    std::string(type_name(item.type())));
            } else if (!announce::parse_community(text->get(), parsed)) {
                reader.error_at(item, "communities", rule::bad_value,
                                in_quotes(text->get()) +
                                    " is not a BGP community (a:b with 16-bit parts, or a "
                                    "large community a:b:c with 32-bit parts)");
            } else if (std::find(announce.communities.begin(), announce.communities.end(),
                                 parsed) != announce.communities.end()) {
                reader.error_at(item, "communities", rule::bad_value,
                                in_quotes(text->get()) + " is listed twice");
            } else {
                announce.communities.push_back(parsed);
            }
        }
    }
    reader.finish();
    if (file.error_count() != errors_before) {
        return std::nullopt;
    }
    return announce;
}

}  // namespace

std::optional<virtual_server> read_virtual_server(file_context& file, const toml::table& table,
                                                  const std::string& stem) {
    auto errors_before = file.error_count();
    table_reader reader(file, table, "virtual_server");
    virtual_server vs;
    vs.where = file.at(table.source());

    if (auto name = reader.string("name")) {
        if (valid_name(*name)) {
            vs.name = *name;
        } else {
            reader.error("name", rule::bad_value,
                         in_quotes(*name) + " is not a valid name (" + name_rule + ")");
        }
    } else if (!reader.has("name")) {
        if (valid_name(stem)) {
            vs.name = stem;
        } else {
            file.error(table.source(), rule::bad_value,
                       "virtual_server: the file name " + in_quotes(stem) +
                           " is not a valid name (" + name_rule + "): set name");
        }
    }

    if (!reader.has("address") && !reader.has("fwmark")) {
        file.error(table.source(), rule::missing_key,
                   "virtual_server: missing required key \"address\" (or \"fwmark\")");
    }
    if (reader.has("address") && reader.has("fwmark")) {
        reader.error("fwmark", rule::conflicting_keys,
                     "a virtual server is an address or a firewall mark, not both");
    }
    if (auto address = read_endpoint(reader, "address", port_rule::service)) {
        if (address->port == 0) {
            reader.error("address", rule::out_of_range,
                         "port 0 is not a service port (1 to 65535); use fwmark for port ranges");
        } else {
            vs.address = *address;
            vs.family = address->family();
        }
    }
    if (auto mark = reader.integer("fwmark", 1, 0xffffffff)) {
        vs.fwmark = static_cast<std::uint32_t>(*mark);
    }
    std::optional<address_family> declared_family;
    if (auto family = read_choice(reader, "family", families)) {
        declared_family = *family;
        if (reader.has("address")) {
            reader.error("family", rule::conflicting_keys,
                         "applies only to fwmark services; the address gives the family");
        } else {
            vs.family = *declared_family;
        }
    }
    if (auto protocol = read_choice(reader, "protocol", choices_by_name(ipvs::all_protocols))) {
        vs.protocol = *protocol;
    }
    // A protocol of the wrong type has its diagnostic already; only a named one conflicts.
    if (const auto* protocol = reader.node("protocol"); protocol && protocol->is_string()) {
        if (reader.has("fwmark")) {
            reader.error("protocol", rule::conflicting_keys,
                         "a fwmark service matches packets by mark, whatever their protocol");
        }
    }
    if (auto scheduler = read_choice(reader, "scheduler", choices_by_name(ipvs::all_schedulers),
                                     "an IPVS scheduler")) {
        vs.scheduler = *scheduler;
    }
    if (const auto* flags = reader.array("scheduler_flags")) {
        for (const auto& item : *flags) {
            const auto* flag = item.as_string();
            if (!flag) {
                reader.error_at(item, "scheduler_flags", rule::wrong_type,
                                "expected a flag name, got " + std::string(type_name(item.type())));
                continue;
            }
            const auto& name = flag->get();
            bool known = name == "sh-fallback" || name == "sh-port" || name == "mh-fallback" ||
                         name == "mh-port";
            if (!known) {
                reader.error_at(item, "scheduler_flags", rule::bad_value,
                                in_quotes(name) +
                                    " is not a scheduler flag (sh-fallback, sh-port, "
                                    "mh-fallback, mh-port)");
            } else if (name.substr(0, 2) != ipvs::to_string(vs.scheduler)) {
                reader.error_at(item, "scheduler_flags", rule::conflicting_keys,
                                in_quotes(name) + " applies only to the " + name.substr(0, 2) +
                                    " scheduler, not " +
                                    std::string(ipvs::to_string(vs.scheduler)));
            } else if (std::find(vs.scheduler_flags.begin(), vs.scheduler_flags.end(), name) !=
                       vs.scheduler_flags.end()) {
                reader.error_at(item, "scheduler_flags", rule::bad_value,
                                in_quotes(name) + " is listed twice");
            } else {
                vs.scheduler_flags.push_back(name);
            }
        }
    }
    if (auto forwarding =
            read_choice(reader, "forwarding", choices_by_name(ipvs::all_forwardings))) {
        vs.forwarding = *forwarding;
    }
    if (auto one_packet = reader.boolean("one_packet")) {
        if (*one_packet && (reader.has("fwmark") || vs.protocol != ipvs::protocol::udp)) {
            reader.error("one_packet", rule::conflicting_keys,
                         "one-packet scheduling applies only to protocol = \"udp\" services");
        } else {
            vs.one_packet = *one_packet;
        }
    }
    // The kernel keeps the timeout in jiffies in 32 bits; 30 days is far inside that at any HZ.
    if (auto timeout =
            reader.duration_value("persistence_timeout", 0ms, std::chrono::hours(24 * 30))) {
        if (timeout->count() % 1000 != 0) {
            reader.error("persistence_timeout", rule::bad_duration,
                         "IPVS keeps persistence in whole seconds: " + format_duration(*timeout) +
                             " is not");
        } else {
            vs.persistence_timeout = *timeout;
        }
    }
    if (const auto* mask = reader.node("persistence_netmask")) {
        unsigned max_length = vs.family == address_family::ipv6 ? 128 : 32;
        if (const auto* length = mask->as_integer()) {
            if (length->get() < 0 || length->get() > max_length) {
                reader.error("persistence_netmask", rule::out_of_range,
                             std::to_string(length->get()) + " is out of range (0 to " +
                                 std::to_string(max_length) + " for " +
                                 std::string(to_string(vs.family)) + ")");
            } else {
                vs.persistence_netmask = static_cast<unsigned>(length->get());
            }
        } else if (const auto* dotted = mask->as_string()) {
            auto address = parse_address(dotted->get());
            unsigned ones = 0;
            bool contiguous = false;
            if (address && address->is_v4()) {
                auto bits = address->to_v4().to_uint();
                ones = static_cast<unsigned>(__builtin_popcount(bits));
                contiguous = ones == 0 || bits == (0xffffffffu << (32 - ones));
            }
            if (!contiguous || vs.family == address_family::ipv6) {
                reader.error("persistence_netmask", rule::bad_address,
                             in_quotes(dotted->get()) +
                                 " is not a contiguous IPv4 netmask; write a prefix length");
            } else {
                vs.persistence_netmask = ones;
            }
        } else {
            reader.error("persistence_netmask", rule::wrong_type,
                         "expected a prefix length or an IPv4 netmask, got " +
                             std::string(type_name(mask->type())));
        }
        if (!reader.has("persistence_timeout")) {
            reader.error("persistence_netmask", rule::conflicting_keys,
                         "has no effect without persistence_timeout");
        }
    }
    if (auto quorum = reader.integer("quorum", 0, 0xffffffffLL)) {
        vs.quorum = static_cast<std::uint64_t>(*quorum);
    }
    if (auto hysteresis = reader.integer("hysteresis", 0, 0xffffffffLL)) {
        if (static_cast<std::uint64_t>(*hysteresis) > vs.quorum) {
            reader.error(
                "hysteresis", rule::out_of_range,
                std::to_string(*hysteresis) + " exceeds the quorum " + std::to_string(vs.quorum));
        } else {
            vs.hysteresis = static_cast<std::uint64_t>(*hysteresis);
        }
    }
    if (auto action = read_choice(reader, "on_failure", failure_actions)) {
        vs.on_failure = *action;
    }
    vs.default_checks = read_checks(reader);

    // Real servers: the family every one must share is the service's, or for a fwmark service
    // without a declared family, the first real server's.
    std::optional<address_family> family;
    if (vs.address) {
        family = vs.address->family();
    } else if (declared_family) {
        family = declared_family;
    }
    std::map<ip_endpoint, location> seen;
    if (const auto* node = reader.node("real_server")) {
        const auto* array = node->as_array();
        if (!array || !array->is_array_of_tables()) {
            reader.error("real_server", rule::wrong_type,
                         "expected [[virtual_server.real_server]] tables, got " +
                             std::string(type_name(node->type())));
        } else {
            std::size_t index = 0;
            for (const auto& item : *array) {
                auto path = "virtual_server.real_server[" + std::to_string(index++) + "]";
                auto server = read_real_server(file, *item.as_table(), path, vs);
                if (!server) {
                    continue;
                }
                auto server_family = server->address.family();
                if (!family) {
                    family = server_family;
                    vs.family = server_family;
                }
                if (server_family != *family) {
                    file.error(server->where, rule::family_mismatch,
                               path + ".address: " + to_string(server->address) + " is " +
                                   std::string(to_string(server_family)) + " but virtual server " +
                                   in_quotes(vs.name) + " is " + std::string(to_string(*family)) +
                                   "; one virtual server serves one address family");
                    continue;
                }
                if (auto [it, inserted] = seen.emplace(server->address, server->where); !inserted) {
                    file.error(server->where, rule::duplicate_real_server,
                               path + ".address: " + to_string(server->address) +
                                   " is already a real server of " + in_quotes(vs.name) +
                                   first_at(it->second));
                    continue;
                }
                vs.real_servers.push_back(std::move(*server));
            }
        }
    }
    // Known only now for a fwmark service whose family its first real server gives.
    if (!vs.default_checks.empty() && family) {
        check_bind_families(file, table, "virtual_server", vs.default_checks, *family,
                            "virtual server " + in_quotes(vs.name));
    }
    if (auto sorry = read_endpoint(reader, "sorry_server")) {
        if (family && sorry->family() != *family) {
            reader.error("sorry_server", rule::family_mismatch,
                         to_string(*sorry) + " is " + std::string(to_string(sorry->family())) +
                             " but the virtual server is " + std::string(to_string(*family)));
        } else {
            vs.sorry_server = *sorry;
        }
    }
    if (const auto* announce_table = reader.table("announce")) {
        vs.announce = read_announce(file, *announce_table, vs);
    }
    reader.finish();
    if (file.error_count() != errors_before) {
        return std::nullopt;
    }
    for (auto& server : vs.real_servers) {
        server.name = vs.name + "/" + to_string(server.address);
    }
    return vs;
}

}  // namespace vigil::config
