#include "config/vrrp_section.hpp"

#include <algorithm>
#include <map>

#include "config/value_rules.hpp"

namespace vigil::config {
namespace {

using namespace std::chrono_literals;
// The base library's to_string overloads (addresses, families) beside this namespace's, which
// argument-dependent lookup still finds.
using vigil::to_string;

void read_trackers(file_context& file, table_reader& reader, const std::string& path,
                   vrrp_instance& instance) {
    // Each tracker list is an array of inline tables; a track_interface entry may also be a bare
    // interface name (weight 0).
    auto tables = [&](std::string_view key, auto&& each) {
        const auto* array = reader.array(key);
        if (!array) {
            return;
        }
        std::size_t index = 0;
        for (const auto& item : *array) {
            auto item_path = path + "." + std::string(key) + "[" + std::to_string(index++) + "]";
            each(item, item_path);
        }
    };
    tables("track_interface", [&](const toml::node& item, const std::string& item_path) {
        tracked_interface t;
        if (const auto* bare = item.as_string()) {
            t.name = bare->get();
        } else if (const auto* table = item.as_table()) {
            table_reader r(file, *table, item_path);
            r.require("name");
            if (auto name = r.string("name")) {
                t.name = *name;
            }
            if (auto weight = read_weight(r)) {
                t.weight = *weight;
            }
            r.finish();
        } else {
            reader.error_at(item, "track_interface", rule::wrong_type,
                            "expected an interface name or { name, weight }, got " +
                                std::string(type_name(item.type())));
            return;
        }
        if (!t.name.empty() && !valid_interface_name(t.name)) {
            file.error(item.source(), rule::bad_value,
                       item_path + ": " + in_quotes(t.name) + " is not a valid interface name");
            return;
        }
        if (!t.name.empty()) {
            instance.track_interface.push_back(t);
        }
    });
    tables("track_script", [&](const toml::node& item, const std::string& item_path) {
        const auto* table = item.as_table();
        if (!table) {
            reader.error_at(
                item, "track_script", rule::wrong_type,
                "expected { name, command, ... }, got " + std::string(type_name(item.type())));
            return;
        }
        table_reader r(file, *table, item_path);
        tracked_script t;
        r.require("name");
        if (auto name = r.string("name")) {
            if (valid_name(*name)) {
                t.name = *name;
            } else {
                r.error("name", rule::bad_value,
                        in_quotes(*name) + " is not a valid name (" + name_rule + ")");
            }
        }
        r.require("command");
        if (auto argv = read_argv(r, "command")) {
            t.command = *argv;
        }
        auto interval = r.duration_value("interval", 100ms, 1h);
        if (interval) {
            t.interval = *interval;
        }
        t.timeout = t.interval;
        if (auto timeout = r.duration_value("timeout", 10ms, 1h)) {
            // A refused interval has its diagnostic already: no second one against the default.
            if ((interval || !r.has("interval")) && *timeout > t.interval) {
                r.error("timeout", rule::out_of_range,
                        format_duration(*timeout) + " is longer than the interval " +
                            format_duration(t.interval));
            } else {
                t.timeout = *timeout;
            }
        }
        if (auto rise = r.integer("rise", 1, 1000)) {
            t.rise = static_cast<unsigned>(*rise);
        }
        if (auto fall = r.integer("fall", 1, 1000)) {
            t.fall = static_cast<unsigned>(*fall);
        }
        if (auto weight = read_weight(r)) {
            t.weight = *weight;
        }
        t.user = read_user(r);
        r.finish();
        for (const auto& other : instance.track_script) {
            if (other.name == t.name && !t.name.empty()) {
                r.error("name", rule::bad_value, in_quotes(t.name) + " is tracked twice");
            }
        }
        instance.track_script.push_back(std::move(t));
    });
    tables("track_file", [&](const toml::node& item, const std::string& item_path) {
        const auto* table = item.as_table();
        if (!table) {
            reader.error_at(
                item, "track_file", rule::wrong_type,
                "expected { path, weight }, got " + std::string(type_name(item.type())));
            return;
        }
        table_reader r(file, *table, item_path);
        tracked_file t;
        r.require("path");
        if (auto file_path = r.string("path")) {
            if (file_path->empty() || file_path->front() != '/') {
                r.error("path", rule::bad_value, "must be an absolute path");
            } else {
                t.path = *file_path;
            }
        }
        if (auto weight = read_weight(r)) {
            t.weight = *weight;
        }
        r.finish();
        instance.track_file.push_back(std::move(t));
    });
}

std::optional<vrrp_instance> read_vrrp_instance(file_context& file, const toml::table& table,
                                                const std::string& path) {
    auto errors_before = file.error_count();
    table_reader reader(file, table, path);
    vrrp_instance instance;
    instance.where = file.at(table.source());

    reader.require("name");
    if (auto name = reader.string("name")) {
        if (valid_name(*name)) {
            instance.name = *name;
        } else {
            reader.error("name", rule::bad_value,
                         in_quotes(*name) + " is not a valid name (" + name_rule + ")");
        }
    }
    reader.require("interface");
    if (auto interface = reader.string("interface")) {
        if (valid_interface_name(*interface)) {
            instance.interface = *interface;
        } else {
            reader.error("interface", rule::bad_value,
                         in_quotes(*interface) +
                             " is not a valid interface name (1 to 15 bytes, "
                             "no '/', ':' or white space)");
        }
    }
    reader.require("virtual_router_id");
    if (auto vrid = reader.integer("virtual_router_id", 1, 255)) {
        instance.virtual_router_id = static_cast<std::uint8_t>(*vrid);
    }
    if (auto priority = reader.integer("priority", 1, 255)) {
        instance.priority = static_cast<std::uint8_t>(*priority);
    }
    bool version_ok = true;
    if (const auto* n = reader.node("version")) {
        auto v = n->as_integer();
        if (!v) {
            reader.error("version", rule::wrong_type,
                         "expected 2 or 3, got " + std::string(type_name(n->type())));
            version_ok = false;
        } else if (v->get() == 2 || v->get() == 3) {
            instance.version =
                v->get() == 2 ? vrrp::protocol_version::v2 : vrrp::protocol_version::v3;
        } else {
            reader.error("version", rule::out_of_range,
                         std::to_string(v->get()) + " is not a VRRP version (2 or 3)");
            version_ok = false;
        }
    }
    if (auto interval = reader.duration_value("advert_interval", 0ms, 24h)) {
        if (!version_ok) {
            // The interval's limits depend on the version; without one, nothing to check against.
        } else if (auto why = vrrp::advert_interval_error(instance.version, *interval)) {
            reader.error("advert_interval", rule::advert_interval, *why);
        } else {
            instance.advert_interval = *interval;
        }
    }

    reader.require("virtual_ipaddress");
    if (const auto* vips = reader.array("virtual_ipaddress")) {
        if (vips->empty()) {
            reader.error("virtual_ipaddress", rule::missing_key, "lists no address");
        }
        for (const auto& item : *vips) {
            const auto* text = item.as_string();
            if (!text) {
                reader.error_at(item, "virtual_ipaddress", rule::wrong_type,
                                "expected an address/prefix string, got " +
                                    std::string(type_name(item.type())));
                continue;
            }
            auto prefix = parse_prefix(text->get());
            if (!prefix) {
                reader.error_at(item, "virtual_ipaddress", rule::bad_address, prefix.error());
                continue;
            }
            if (!instance.virtual_ipaddress.empty() &&
                prefix->family() != instance.virtual_ipaddress.front().family()) {
                reader.error_at(
                    item, "virtual_ipaddress", rule::family_mismatch,
                    in_quotes(text->get()) + " is " + std::string(to_string(prefix->family())) +
                        " but the instance's first address is " +
                        std::string(to_string(instance.virtual_ipaddress.front().family())) +
                        ": one instance serves one address family");
                continue;
            }
            if (version_ok && prefix->family() == address_family::ipv6 &&
                instance.version == vrrp::protocol_version::v2) {
                reader.error_at(item, "virtual_ipaddress", rule::family_mismatch,
                                in_quotes(text->get()) +
                                    " is IPv6, which VRRPv2 cannot carry: set version = 3");
                continue;
            }
            auto same_address = [&](const ip_prefix& p) { return p.address == prefix->address; };
            if (std::any_of(instance.virtual_ipaddress.begin(), instance.virtual_ipaddress.end(),
                            same_address)) {
                reader.error_at(item, "virtual_ipaddress", rule::bad_value,
                                in_quotes(text->get()) + " is listed twice");
                continue;
            }
            instance.virtual_ipaddress.push_back(*prefix);
        }
    }
    auto family_matches = [&](const ip_address& a) {
        return instance.virtual_ipaddress.empty() ||
               family_of(a) == instance.virtual_ipaddress.front().family();
    };
    auto family_message = [&](const ip_address& a) {
        return to_string(a) + " is " + std::string(to_string(family_of(a))) +
               " but the virtual addresses are " +
               std::string(to_string(instance.virtual_ipaddress.front().family()));
    };
    if (auto source = read_address(reader, "unicast_source")) {
        if (!family_matches(*source)) {
            reader.error("unicast_source", rule::family_mismatch, family_message(*source));
        } else {
            instance.unicast_source = *source;
        }
    }
    if (const auto* peers = reader.array("unicast_peers")) {
        for (const auto& item : *peers) {
            const auto* text = item.as_string();
            if (!text) {
                reader.error_at(
                    item, "unicast_peers", rule::wrong_type,
                    "expected an address string, got " + std::string(type_name(item.type())));
                continue;
            }
            auto address = parse_address(text->get());
            if (!address) {
                reader.error_at(item, "unicast_peers", rule::bad_address, address.error());
            } else if (!family_matches(*address)) {
                reader.error_at(item, "unicast_peers", rule::family_mismatch,
                                family_message(*address));
            } else if (std::find(instance.unicast_peers.begin(), instance.unicast_peers.end(),
                                 *address) != instance.unicast_peers.end()) {
                reader.error_at(item, "unicast_peers", rule::bad_value,
                                in_quotes(text->get()) + " is listed twice");
            } else {
                instance.unicast_peers.push_back(*address);
            }
        }
        if (peers->empty()) {
            reader.error("unicast_peers", rule::missing_key,
                         "lists no peer: leave it out for multicast adverts");
        }
    }
    if (reader.has("unicast_source") && !reader.has("unicast_peers")) {
        reader.error("unicast_source", rule::conflicting_keys,
                     "has no effect without unicast_peers (adverts go to the multicast group)");
    }
    if (auto pass = reader.string("auth_pass")) {
        if (pass->empty() || pass->size() > 8) {
            reader.error("auth_pass", rule::out_of_range,
                         "must be 1 to 8 bytes (the VRRPv2 authentication field), got " +
                             std::to_string(pass->size()));
        } else if (version_ok && instance.version == vrrp::protocol_version::v3) {
            reader.error("auth_pass", rule::conflicting_keys,
                         "VRRPv3 has no authentication (RFC 5798): remove it or set version = 2");
        } else {
            instance.auth_pass = *pass;
        }
    }
    if (auto preempt = reader.boolean("preempt")) {
        instance.preempt = *preempt;
    }
    if (auto delay = reader.duration_value("preempt_delay", 0ms, 1000s)) {
        if (!instance.preempt && delay->count() > 0) {
            reader.error("preempt_delay", rule::conflicting_keys,
                         "has no effect with preempt = false");
        } else {
            instance.preempt_delay = *delay;
        }
    }
    if (auto delay = reader.duration_value("garp_master_delay", 0ms, 1h)) {
        instance.garp.master_delay = *delay;
    }
    if (auto repeat = reader.integer("garp_master_repeat", 1, 255)) {
        instance.garp.master_repeat = static_cast<unsigned>(*repeat);
    }
    if (auto refresh = reader.duration_value("garp_master_refresh", 0ms, 24h)) {
        instance.garp.master_refresh = *refresh;
    }
    if (auto repeat = reader.integer("garp_master_refresh_repeat", 1, 255)) {
        instance.garp.master_refresh_repeat = static_cast<unsigned>(*repeat);
    }
    if (auto interval = reader.duration_value("garp_interval", 0ms, 1s)) {
        instance.garp.interval = *interval;
    }
    if (const auto* sync = reader.table("sync_daemon")) {
        table_reader sync_reader(file, *sync, path + ".sync_daemon");
        vrrp_instance::sync_daemon_settings settings;
        settings.interface = instance.interface;
        settings.id = instance.virtual_router_id;
        if (auto interface = sync_reader.string("interface")) {
            if (valid_interface_name(*interface)) {
                settings.interface = *interface;
            } else {
                sync_reader.error("interface", rule::bad_value,
                                  in_quotes(*interface) + " is not a valid interface name");
            }
        }
        if (auto id = sync_reader.integer("id", 0, 255)) {
            settings.id = static_cast<std::uint8_t>(*id);
        }
        sync_reader.finish();
        instance.sync_daemon = settings;
    }
    read_trackers(file, reader, path, instance);
    for (auto [key, target] : {std::pair{"notify", &instance.notify.any},
                               std::pair{"notify_master", &instance.notify.master},
                               std::pair{"notify_backup", &instance.notify.backup},
                               std::pair{"notify_fault", &instance.notify.fault},
                               std::pair{"notify_stop", &instance.notify.stop}}) {
        if (auto argv = read_argv(reader, key)) {
            *target = *argv;
        }
    }
    if (auto timeout = reader.duration_value("notify_timeout", 100ms, 1h)) {
        instance.notify.timeout = *timeout;
    }
    instance.notify.user = read_user(reader, "notify_user", "notify_group");
    if (auto vmac = reader.boolean("use_vmac")) {
        instance.use_vmac = *vmac;
    }
    if (auto name = reader.string("vmac_name")) {
        if (!valid_interface_name(*name)) {
            reader.error("vmac_name", rule::bad_value,
                         in_quotes(*name) + " is not a valid interface name");
        } else if (!instance.use_vmac) {
            reader.error("vmac_name", rule::conflicting_keys,
                         "has no effect without use_vmac = true");
        } else {
            instance.vmac_name = *name;
        }
    }
    reader.finish();
    if (file.error_count() != errors_before) {
        return std::nullopt;
    }
    return instance;
}

}  // namespace

void read_vrrp_instances(table_reader& root, configuration& config) {
    const auto* node = root.node("vrrp_instance");
    if (!node) {
        return;
    }
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        root.error(
            "vrrp_instance", rule::wrong_type,
            "expected [[vrrp_instance]] tables, got " + std::string(type_name(node->type())));
        return;
    }
    std::size_t index = 0;
    for (const auto& item : *array) {
        auto path = "vrrp_instance[" + std::to_string(index++) + "]";
        if (auto instance = read_vrrp_instance(root.file(), *item.as_table(), path)) {
            config.vrrp_instances.push_back(std::move(*instance));
        }
    }
}

void read_sync_groups(table_reader& root, configuration& config) {
    const auto* node = root.node("vrrp_sync_group");
    if (!node) {
        return;
    }
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        root.error(
            "vrrp_sync_group", rule::wrong_type,
            "expected [[vrrp_sync_group]] tables, got " + std::string(type_name(node->type())));
        return;
    }
    std::map<std::string, location> member_of;
    std::map<std::string, location> names;
    std::size_t index = 0;
    for (const auto& item : *array) {
        auto path = "vrrp_sync_group[" + std::to_string(index++) + "]";
        table_reader reader(root.file(), *item.as_table(), path);
        vrrp_sync_group group;
        group.where = root.file().at(item.source());
        reader.require("name");
        if (auto name = reader.string("name")) {
            if (!valid_name(*name)) {
                reader.error("name", rule::bad_value,
                             in_quotes(*name) + " is not a valid name (" + name_rule + ")");
            } else if (auto [it, inserted] = names.emplace(*name, group.where); !inserted) {
                reader.error("name", rule::duplicate_instance_name,
                             "the group name " + in_quotes(*name) + " is already used" +
                                 first_at(it->second));
            } else {
                group.name = *name;
            }
        }
        reader.require("instances");
        if (const auto* members = reader.array("instances")) {
            for (const auto& member : *members) {
                const auto* name = member.as_string();
                if (!name) {
                    reader.error_at(
                        member, "instances", rule::wrong_type,
                        "expected instance names, got " + std::string(type_name(member.type())));
                    continue;
                }
                bool exists =
                    std::any_of(config.vrrp_instances.begin(), config.vrrp_instances.end(),
                                [&](const vrrp_instance& i) { return i.name == name->get(); });
                if (!exists) {
                    reader.error_at(member, "instances", rule::bad_value,
                                    "no vrrp_instance is named " + in_quotes(name->get()));
                } else if (auto [it, inserted] =
                               member_of.emplace(name->get(), root.file().at(member.source()));
                           !inserted) {
                    reader.error_at(member, "instances", rule::conflicting_keys,
                                    in_quotes(name->get()) + " is already in a sync group" +
                                        first_at(it->second));
                } else {
                    group.instances.push_back(name->get());
                }
            }
            if (members->size() < 2) {
                reader.error("instances", rule::missing_key,
                             "a sync group needs at least two instances");
            }
        }
        reader.finish();
        config.vrrp_sync_groups.push_back(std::move(group));
    }
}

}  // namespace vigil::config
