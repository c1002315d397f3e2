#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "base/duration.hpp"
#include "base/user_credentials.hpp"
#include "checkers/dns_message.hpp"
#include "checkers/http_expectation.hpp"
#include "checkers/rise_fall.hpp"

namespace vigil::checkers {

// The checkers library's own description of a check. The daemon translates its config model into
// these; the library never sees the config, so it can be driven by tests, the bench and the
// `vigil probe` command alike.

enum class check_type { http, https, tcp, script, udp, dns, icmp, file, smtp, grpc };
enum class http_method { get, head };
enum class http_version { http_1_0, http_1_1 };

std::string_view to_string(check_type type);

// One URL of a check that fetches several (keepalived's url blocks): what to ask for and what
// the answer must be.
struct http_url {
    std::string path = "/";
    std::optional<std::string> host;
    status_set status = status_set::default_success();
    std::optional<std::string> body_regex;
    std::optional<std::string> body_regex_absent;
    std::optional<body_digest> digest;
    friend bool operator==(const http_url&, const http_url&) = default;
};

struct http_spec {
    http_method method = http_method::get;
    http_version version = http_version::http_1_1;
    std::string path = "/";
    // Host header; empty means the address probed (as a browser would write it).
    std::optional<std::string> host;
    status_set status = status_set::default_success();
    // Perl syntax (boost::regex); searched for anywhere in the first body_limit bytes.
    std::optional<std::string> body_regex;
    // The check fails when this matches (keepalived's regex_no_match); same syntax and limit.
    std::optional<std::string> body_regex_absent;
    std::optional<body_digest> digest;
    // Several URLs, fetched in order in one run that passes only if each passes. Empty: the one
    // URL of path, host, status, body_regex, body_regex_absent and digest above (which a list
    // replaces whole).
    std::vector<http_url> urls;
    // Bytes of body read at most. The write callback stops the transfer there, so a 10 MB chunked
    // body costs 64 KiB, not 10 MB.
    std::size_t body_limit = 64 * 1024;
    // Off: every probe opens a fresh connection and closes it, so a kept-alive connection can never
    // hide a server that no longer accepts new ones.
    bool reuse_connection = false;
    // https only
    bool tls_verify = true;
    std::optional<std::string> ca_file;  // empty: the system's CAs
    std::optional<std::string> sni;      // empty: the Host, else the address
    // Resume the TLS session of the previous check (as HAProxy does), with a full handshake at
    // least every tls_session_max_age; off: a full handshake on every check.
    bool tls_session_reuse = true;
    friend bool operator==(const http_spec&, const http_spec&) = default;
};

// The URLs one run fetches: `urls` (a URL without a host takes the spec's), or the single one the
// other keys describe.
std::vector<http_url> urls_of(const http_spec& options);

struct tcp_spec {
    // Written after connecting; empty: connect only.
    std::string send;
    // The answer must contain this; empty: no read.
    std::string expect;
    friend bool operator==(const tcp_spec&, const tcp_spec&) = default;
};

struct udp_spec {
    // The datagram sent (bytes; config writes it as text or hex). Empty: an empty datagram.
    std::string send;
    // The reply must contain these bytes; empty: any reply.
    std::string expect;
    // Perl syntax (boost::regex), searched for in the reply.
    std::optional<std::string> expect_regex;
    // Off: silence is success and only an ICMP error (port unreachable) or a mismatching reply
    // fails; for services that never answer a probe.
    bool require_reply = true;
    friend bool operator==(const udp_spec&, const udp_spec&) = default;
};

enum class dns_transport { udp, tcp };

struct dns_spec {
    std::string name;  // the question's name, e.g. "example.org"
    dns_record_type type = dns_record_type::a;
    // udp: over UDP, and TCP again when the answer is truncated; tcp: TCP only.
    dns_transport transport = dns_transport::udp;
    // The response code a healthy server gives (0 NOERROR, 3 NXDOMAIN, ...).
    std::uint8_t rcode = 0;
    // When set, an answer record of the asked type whose data reads like this must be present
    // ("192.0.2.1", "10 mail.example.org", ...).
    std::optional<std::string> answer;
    friend bool operator==(const dns_spec&, const dns_spec&) = default;
};

struct smtp_spec {
    // The name EHLO / HELO gives; empty: this host's name.
    std::string helo_name;
    // On: the EHLO reply must offer STARTTLS (RFC 3207), and the dialogue goes on over TLS: the
    // server's certificate is verified, then EHLO again and QUIT.
    bool starttls = false;
    bool tls_verify = true;
    std::optional<std::string> ca_file;  // empty: the system's CAs
    std::optional<std::string> sni;      // empty: the address
    friend bool operator==(const smtp_spec&, const smtp_spec&) = default;
};

struct grpc_spec {
    // The service asked about; empty: the server as a whole.
    std::string service;
    // Off: HTTP/2 in cleartext with prior knowledge (h2c); on: TLS, HTTP/2 by ALPN.
    bool tls = false;
    bool tls_verify = true;
    std::optional<std::string> ca_file;  // empty: the system's CAs
    std::optional<std::string> sni;      // empty: the address
    friend bool operator==(const grpc_spec&, const grpc_spec&) = default;
};

struct file_spec {
    std::string path;  // absolute
    // What a missing file means; down by default (no file, no traffic).
    health missing_state = health::down;
    friend bool operator==(const file_spec&, const file_spec&) = default;
};

struct script_spec {
    std::vector<std::string> argv;  // no shell
    // Looked up once, when the spec is made from config (look_up_user), never per run. A failed
    // lookup fails every run with its message ("unknown user ...").
    std::optional<user_lookup> user;
    // Exit 2-255 means healthy with weight exit-2 (keepalived's misc_dynamic).
    bool dynamic_weight = false;
    friend bool operator==(const script_spec&, const script_spec&) = default;
};

struct check_spec {
    // What status, metrics and events call the check; unique among one real server's checks.
    // Empty: its type's name (see name_of).
    std::string name;
    check_type type = check_type::tcp;
    duration interval = std::chrono::seconds(5);
    duration timeout = std::chrono::seconds(3);
    // While some results disagree with the state but not yet enough to change it, probe this often
    // (never less often than `interval`), so a failing server is taken out in fall × recheck.
    duration recheck_interval = std::chrono::seconds(1);
    unsigned rise = 1;
    unsigned fall = 1;
    // down: out until proven (keepalived's alpha).
    health initial_state = health::up;
    // Probe this address:port instead of the real server's (every type but script).
    std::optional<ip_endpoint> connect;
    // http, https and tcp: the source address of the check's connections (bound before connect;
    // the family is the target's).
    std::optional<ip_address> bind;
    http_spec http;
    tcp_spec tcp;
    udp_spec udp;
    dns_spec dns;
    file_spec file;
    smtp_spec smtp;
    grpc_spec grpc;
    script_spec script;
    friend bool operator==(const check_spec&, const check_spec&) = default;
};

// One real server of one virtual server, with the checks that decide its health: it is up while
// every one of them is.
struct checked_server_spec {
    std::string name;            // "web/192.168.1.101:80", unique
    std::string virtual_server;  // "web"
    ip_endpoint endpoint;
    unsigned weight = 1;
    std::vector<check_spec> checks;  // at least one, names unique
    friend bool operator==(const checked_server_spec&, const checked_server_spec&) = default;
};

std::string_view name_of(const check_spec& check);

// What a probe talks to and how: two real servers whose keys are equal get their answer from one
// probe (keepalived issue #2111). Rise, fall and the initial state stay per real server; the
// schedule is part of the key because the probe runs on it.
struct probe_key {
    check_type type = check_type::tcp;
    ip_endpoint target;  // the real server, or `connect`
    std::optional<ip_address> bind;
    duration interval{0};
    duration recheck_interval{0};
    duration timeout{0};
    http_spec http;
    tcp_spec tcp;
    udp_spec udp;
    dns_spec dns;
    file_spec file;
    smtp_spec smtp;
    grpc_spec grpc;
    script_spec script;
    friend bool operator==(const probe_key&, const probe_key&) = default;
};

probe_key key_of(const check_spec& check, const ip_endpoint& server);

struct probe_key_hash {
    std::size_t operator()(const probe_key& key) const;
};

}  // namespace vigil::checkers
