#include "vrrp/interface_table.hpp"

#include <algorithm>

#include "vrrp/demultiplex.hpp"

namespace vigil::vrrp {

struct interface_table::entry {
    std::string name;
    std::optional<interface_info> info;
    std::unique_ptr<vrrp_socket> v4;
    std::unique_ptr<vrrp_socket> v6;
    std::vector<instance*> members;

    std::unique_ptr<vrrp_socket>& socket(address_family f) {
        return f == address_family::ipv6 ? v6 : v4;
    }
};

interface_table::interface_table(boost::asio::any_io_executor executor, address_effects& effects)
    : executor_(std::move(executor)), effects_(effects) {}

interface_table::~interface_table() = default;

interface_table::entry& interface_table::slot(const std::string& name) {
    auto& e = interfaces_[name];
    if (!e) {
        e = std::make_unique<entry>();
        e->name = name;
        e->info = effects_.lookup(name);
    }
    return *e;
}

void interface_table::attach(instance& member) {
    slot(member.spec().interface).members.push_back(&member);
}

void interface_table::detach(instance& member) {
    std::erase(slot(member.spec().interface).members, &member);
}

const std::vector<instance*>& interface_table::members(const std::string& interface) {
    return slot(interface).members;
}

std::vector<std::string> interface_table::names() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : interfaces_) {
        out.push_back(name);
    }
    return out;
}

std::optional<std::string> interface_table::name_of(const std::string& name, int index) const {
    if (interfaces_.contains(name)) {
        return name;
    }
    for (const auto& [known, e] : interfaces_) {
        if (e->info && e->info->index == index) {
            return known;
        }
    }
    return std::nullopt;
}

const interface_info* interface_table::find(const std::string& name) {
    auto& e = slot(name);
    return e.info ? &*e.info : nullptr;
}

void interface_table::refresh(const std::string& name) {
    auto& e = slot(name);
    auto previous_index = e.info ? e.info->index : 0;
    e.info = effects_.lookup(name);
    if (!e.info || e.info->index != previous_index) {
        // The interface went away or was recreated: its sockets are bound to the old one.
        e.v4.reset();
        e.v6.reset();
    }
}

std::optional<std::string> interface_table::open(const std::string& interface,
                                                 address_family family) {
    auto& e = slot(interface);
    if (!e.info) {
        return "interface " + interface + " does not exist";
    }
    auto& socket = e.socket(family);
    if (socket) {
        return std::nullopt;
    }
    std::string error;
    socket = vrrp_socket::open(executor_, e.info->index, e.name, family, error);
    if (!socket) {
        return error;
    }
    socket->start(
        [&e, family](const inbound_packet& packet) { demultiplex(e.members, family, packet); },
        [&e, family](std::string_view reason) { count_malformed(e.members, family, reason); });
    return std::nullopt;
}

std::optional<std::string> interface_table::send(const std::string& interface, const advert& packet,
                                                 const ip_address& source,
                                                 const ip_address& destination) {
    auto& socket =
        slot(interface).socket(source.is_v6() ? address_family::ipv6 : address_family::ipv4);
    if (!socket) {
        return "no VRRP socket on " + interface;
    }
    auto payload = encode(packet, source, destination);
    return socket->send(payload, source, destination);
}

void interface_table::drain(const std::string& interface, address_family family) {
    if (auto& socket = slot(interface).socket(family)) {
        socket->drain();
    }
}

}  // namespace vigil::vrrp
