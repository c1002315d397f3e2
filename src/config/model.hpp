#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "base/duration.hpp"
#include "base/event_log.hpp"
#include "checkers/http_expectation.hpp"
#include "config/diagnostic.hpp"
#include "ipvs/names.hpp"
#include "vrrp/timing.hpp"

namespace vigil::config {

// The validated configuration. Everything here has passed validation: consumers never re-check.

enum class log_format_choice { automatic, json, text };

struct log_settings {
    // "stderr", "syslog", or an absolute path of a file to append to.
    std::string target = "stderr";
    log_format_choice format = log_format_choice::automatic;
    log_level level = log_level::info;
    friend bool operator==(const log_settings&, const log_settings&) = default;
};

struct global_settings {
    std::string node;  // defaults to the host name
    std::vector<std::string> include;
    log_settings log;
    std::string control_socket = "/run/vigil/vigil.sock";
};

// Gratuitous ARP / unsolicited NA after becoming master, as keepalived's vrrp_garp_* settings.
struct garp_settings {
    duration master_delay = std::chrono::seconds(5);  // before the second burst
    unsigned master_repeat = 5;                       // packets per burst
    duration master_refresh{0};                       // periodic refresh while master; 0 = off
    unsigned master_refresh_repeat = 1;
    duration interval{0};  // between packets of one burst
    friend bool operator==(const garp_settings&, const garp_settings&) = default;
};

struct vrrp_instance {
    std::string name;
    std::string interface;
    std::uint8_t virtual_router_id = 0;
    std::uint8_t priority = 100;
    vrrp::protocol_version version = vrrp::protocol_version::v2;
    duration advert_interval = std::chrono::seconds(1);
    std::vector<ip_prefix> virtual_ipaddress;
    std::optional<ip_address> unicast_source;
    std::vector<ip_address> unicast_peers;
    std::optional<std::string> auth_pass;  // VRRPv2 simple-password authentication
    bool preempt = true;
    duration preempt_delay{0};
    garp_settings garp;
    location where;

    address_family family() const { return virtual_ipaddress.front().family(); }
    bool unicast() const { return !unicast_peers.empty(); }
};

enum class check_type { http, https, tcp, script };
enum class http_method { get, head };

std::string_view to_string(check_type type);
std::string_view to_string(http_method method);

struct check {
    check_type type = check_type::tcp;
    duration interval = std::chrono::seconds(5);
    duration timeout = std::chrono::seconds(3);
    unsigned rise = 1;
    unsigned fall = 1;
    // http and https
    http_method method = http_method::get;
    std::string path = "/";
    std::optional<std::string> host;
    checkers::status_set status = checkers::status_set::default_success();
    std::optional<std::string> body_regex;
    std::optional<checkers::body_digest> body_digest;
    // https
    bool tls_verify = true;
    std::optional<std::string> ca_file;
    std::optional<std::string> sni;
    // script: argv, run without a shell
    std::vector<std::string> command;

    friend bool operator==(const check&, const check&) = default;
};

enum class failure_action { remove, inhibit };
std::string_view to_string(failure_action action);

struct real_server {
    std::string name;  // "web/192.0.2.10:80"
    ip_endpoint address;
    std::uint32_t weight = 1;
    std::optional<check> own_check;  // replaces the virtual server's check whole
    location where;
};

struct virtual_server {
    std::string name;
    std::optional<ip_endpoint> address;  // exactly one of address and fwmark
    std::optional<std::uint32_t> fwmark;
    address_family family = address_family::ipv4;
    ipvs::protocol protocol = ipvs::protocol::tcp;
    ipvs::scheduler scheduler = ipvs::scheduler::wlc;
    ipvs::forwarding forwarding = ipvs::forwarding::nat;
    duration persistence_timeout{0};              // 0 = no persistence
    std::optional<unsigned> persistence_netmask;  // prefix length
    std::uint64_t quorum = 1;
    std::uint64_t hysteresis = 0;
    std::optional<ip_endpoint> sorry_server;
    failure_action on_failure = failure_action::remove;
    std::optional<check> default_check;
    std::vector<real_server> real_servers;
    location where;

    // The check a real server runs: its own, else the virtual server's, else none.
    const check* check_for(const real_server& server) const;
    // "192.0.2.1:80/tcp" or "fwmark 7/IPv4": what IPVS identifies the service by.
    std::string service_key() const;
};

struct configuration {
    std::string main_file;
    global_settings global;
    std::vector<vrrp_instance> vrrp_instances;
    std::vector<virtual_server> virtual_servers;

    std::size_t real_server_count() const;
};

}  // namespace vigil::config
