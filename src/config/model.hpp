#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "announce/announcement.hpp"
#include "base/address.hpp"
#include "base/duration.hpp"
#include "base/event_log.hpp"
#include "base/user_credentials.hpp"
#include "checkers/check_spec.hpp"
#include "checkers/http_expectation.hpp"
#include "config/diagnostic.hpp"
#include "ipvs/names.hpp"
#include "vrrp/notify_spec.hpp"
#include "vrrp/timing.hpp"
#include "vrrp/tracker_spec.hpp"

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

enum class ipvs_backend_choice { netlink, memory };
enum class shutdown_action { keep, remove };

struct ipvs_settings {
    // netlink: the kernel's IPVS; memory: an in-process table (tests, dry runs).
    ipvs_backend_choice backend = ipvs_backend_choice::netlink;
    // Full dump-and-diff every so often repairs changes made behind vigil's back; 0 = never.
    duration resync_interval = std::chrono::seconds(30);
    // What happens to vigil's services when it stops: kept (traffic flows on) or removed.
    shutdown_action on_shutdown = shutdown_action::keep;
    friend bool operator==(const ipvs_settings&, const ipvs_settings&) = default;
};

// The Prometheus listener (`[global.metrics]`): off unless an address is given.
struct metrics_settings {
    std::optional<ip_endpoint> listen;
    friend bool operator==(const metrics_settings&, const metrics_settings&) = default;
};

// BGP announcements through BIRD 2 (`[global.bgp]`), used when a virtual server has `announce`.
struct bgp_settings {
    std::string bird_socket = "/run/bird/bird.ctl";
    // The file vigil writes and BIRD includes (`include "/run/vigil-bird/*.conf";`).
    std::string include_file = "/run/vigil-bird/vigil.conf";
    // The TUN device the routes go via: it dies with vigil, and BIRD withdraws with it.
    std::string liveness_interface = "vigil-live";
    // Where announced VIPs are put so IPVS accepts their traffic (kept while withdrawn).
    std::string vip_interface = "lo";
    // After a quorum loss, how long the quorum must hold before the prefix is announced again.
    duration hold_down = std::chrono::seconds(10);
    // Graceful stop and drain-node: how long to wait after withdrawing, for the routers to
    // converge while established connections finish.
    duration drain_wait = std::chrono::seconds(5);
    friend bool operator==(const bgp_settings&, const bgp_settings&) = default;
};

struct global_settings {
    std::string node;  // defaults to the host name
    std::vector<std::string> include;
    log_settings log;
    std::string control_socket = "/run/vigil/vigil.sock";
    // Where vigil keeps what must survive restarts: owned IPVS services, drained servers.
    std::string state_dir = "/var/lib/vigil";
    ipvs_settings ipvs;
    // More than flap_threshold transitions of a real server within flap_window log one
    // real_server.flapping instead of a line per flap; 0 = never damp.
    unsigned flap_threshold = 5;
    duration flap_window = std::chrono::minutes(1);
    metrics_settings metrics;
    bgp_settings bgp;
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

// Weighted trackers (keepalived's track_interface / track_script / track_file) and notify
// programs, held as the VRRP library defines them.
using tracked_interface = vrrp::interface_tracker_spec;
using tracked_script = vrrp::script_tracker_spec;
using tracked_file = vrrp::file_tracker_spec;
using notify_settings = vrrp::notify_spec;

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
    // IPVS connection synchronisation (keepalived's lvs_sync_daemon): a master sync daemon while
    // MASTER, a backup one while BACKUP, so connections survive a failover.
    struct sync_daemon_settings {
        std::string interface;
        std::uint8_t id = 0;  // defaults to the VRID
        friend bool operator==(const sync_daemon_settings&, const sync_daemon_settings&) = default;
    };
    std::optional<sync_daemon_settings> sync_daemon;
    std::vector<tracked_interface> track_interface;
    std::vector<tracked_script> track_script;
    std::vector<tracked_file> track_file;
    notify_settings notify;
    // A macvlan child with the VRRP virtual MAC 00:00:5e:00:01:VRID (IPv6 00:00:5e:00:02:VRID)
    // carries the VIPs and sends the adverts, so a failover needs no ARP cache change.
    bool use_vmac = false;
    std::string vmac_name;  // default "vrrp.VRID" (IPv6 "vrrp6.VRID")
    location where;

    address_family family() const { return virtual_ipaddress.front().family(); }
    bool unicast() const { return !unicast_peers.empty(); }
};

// The checkers library's own names: the config speaks them, as it speaks the IPVS ones.
using checkers::check_type;
using checkers::http_method;

enum class initial_health { up, down };

struct check {
    // Unique among the checks of one real server (or of one virtual server's default list);
    // empty: the type's name.
    std::string name;
    check_type type = check_type::tcp;
    duration interval = std::chrono::seconds(5);
    duration timeout = std::chrono::seconds(3);
    unsigned rise = 1;
    unsigned fall = 1;
    // While a transition is pending (some results disagree with the state), probe this often.
    duration recheck_interval = std::chrono::seconds(1);
    // "down": a server is out until its first rise successes (keepalived's alpha mode).
    initial_health initial_state = initial_health::up;
    // http, https, tcp: probe this address:port instead of the real server's.
    std::optional<ip_endpoint> connect;
    // http and https
    http_method method = http_method::get;
    std::string path = "/";
    std::optional<std::string> host;
    checkers::status_set status = checkers::status_set::default_success();
    std::optional<std::string> body_regex;
    // The check fails when this matches the body (keepalived's regex_no_match).
    std::optional<std::string> body_regex_absent;
    std::optional<checkers::body_digest> body_digest;
    // Several URLs fetched by each run, all of which must pass; instead of path, status and the
    // body_* keys above (host stays the default of every URL that names none).
    std::vector<checkers::http_url> urls;
    // Bytes of body read at most; the rest is not read (a huge body cannot eat memory).
    std::size_t body_limit = 64 * 1024;
    checkers::http_version http_version = checkers::http_version::http_1_1;
    // Off: every probe opens a new connection, so a reused one never hides a dead server.
    bool reuse_connection = false;
    // http, https, tcp: the source address of the check's connections.
    std::optional<ip_address> bind;
    // https, grpc with tls, smtp with starttls (tls_session_reuse: https only)
    bool tls_verify = true;
    bool tls_session_reuse = true;
    std::optional<std::string> ca_file;
    std::optional<std::string> sni;
    // tcp and udp: optional payload to send, and bytes the answer must contain (udp may write
    // both in hex: send_hex, expect_hex)
    std::optional<std::string> send;
    std::optional<std::string> expect;
    // udp
    std::optional<std::string> expect_regex;
    bool require_reply = true;
    // dns
    std::string query_name;
    checkers::dns_record_type query_type = checkers::dns_record_type::a;
    checkers::dns_transport transport = checkers::dns_transport::udp;
    std::uint8_t rcode = 0;
    std::optional<std::string> answer;
    // grpc: the service asked about (empty: the server) and whether to speak TLS; tls_verify,
    // ca_file and sni apply as for https
    std::string service;
    bool tls = false;
    // smtp: the name EHLO / HELO gives (empty: this host's name), and whether the dialogue goes
    // on over TLS after STARTTLS; tls_verify, ca_file and sni apply as for https
    std::string helo_name;
    bool starttls = false;
    // file: the operator's state file, and what its absence means
    std::string state_file;
    initial_health missing_state = initial_health::down;
    // script: argv, run without a shell
    std::vector<std::string> command;
    // Looked up when the config is loaded (a config naming an unknown user is refused).
    std::optional<user_lookup> user;
    // Exit 2-255 means healthy with weight exit-2 (keepalived's misc_dynamic).
    bool dynamic_weight = false;

    friend bool operator==(const check&, const check&) = default;
};

enum class failure_action { remove, inhibit };

// `announce = { ... }` of a virtual server: its prefix announced over BGP while it is healthy.
struct announce_settings {
    ip_prefix prefix;  // defaults to the virtual server's address as a host prefix
    std::uint32_t med = 0;
    std::uint32_t med_per_down_server = 0;
    std::vector<announce::community> communities;
    location where;
    friend bool operator==(const announce_settings& a, const announce_settings& b) {
        return a.prefix == b.prefix && a.med == b.med &&
               a.med_per_down_server == b.med_per_down_server && a.communities == b.communities;
    }
};

struct real_server {
    std::string name;  // "web/192.0.2.10:80"
    ip_endpoint address;
    std::uint32_t weight = 1;
    // IPVS connection thresholds: no new connections above upper, again below lower; 0 = none.
    std::uint32_t upper_threshold = 0;
    std::uint32_t lower_threshold = 0;
    // `check` or `checks`; when any, they replace the virtual server's whole list.
    std::vector<check> own_checks;
    location where;
};

struct virtual_server {
    std::string name;
    std::optional<ip_endpoint> address;  // exactly one of address and fwmark
    std::optional<std::uint32_t> fwmark;
    address_family family = address_family::ipv4;
    ipvs::protocol protocol = ipvs::protocol::tcp;
    ipvs::scheduler scheduler = ipvs::scheduler::wlc;
    // sh-fallback, sh-port (sh), mh-fallback, mh-port (mh)
    std::vector<std::string> scheduler_flags;
    ipvs::forwarding forwarding = ipvs::forwarding::nat;
    // UDP: schedule every datagram on its own (IP_VS_SVC_F_ONEPACKET), e.g. for DNS.
    bool one_packet = false;
    duration persistence_timeout{0};              // 0 = no persistence
    std::optional<unsigned> persistence_netmask;  // prefix length
    std::uint64_t quorum = 1;
    std::uint64_t hysteresis = 0;
    std::optional<ip_endpoint> sorry_server;
    failure_action on_failure = failure_action::remove;
    std::vector<check> default_checks;  // `check` or `checks`
    std::vector<real_server> real_servers;
    std::optional<announce_settings> announce;
    location where;

    // The checks a real server runs (all must pass): its own, else the virtual server's; none
    // when neither has any.
    const std::vector<check>& checks_for(const real_server& server) const;
    // "192.0.2.1:80/tcp" or "fwmark 7/IPv4": what IPVS identifies the service by.
    std::string service_key() const;
};

// An alert hook: matching events are run through a program or POSTed as JSON.
struct alert {
    std::vector<std::string> events;   // names, "prefix.*", or "*"
    std::vector<std::string> command;  // argv; the event name is appended, its JSON in $VIGIL_EVENT
    std::string url;                   // http:// or https://
    duration timeout = std::chrono::seconds(5);
    unsigned retries = 3;
    std::optional<user_lookup> user;  // command: run as this user, looked up when loaded
};

struct vrrp_sync_group {
    std::string name;
    std::vector<std::string> instances;
    location where;
};

struct configuration {
    std::string main_file;
    global_settings global;
    std::vector<vrrp_instance> vrrp_instances;
    std::vector<vrrp_sync_group> vrrp_sync_groups;
    std::vector<alert> alerts;
    std::vector<virtual_server> virtual_servers;

    std::size_t real_server_count() const;
};

}  // namespace vigil::config
