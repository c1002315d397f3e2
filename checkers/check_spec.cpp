#include "checkers/check_spec.hpp"

#include <functional>

namespace vigil::checkers {

std::string_view to_string(check_type type) {
    switch (type) {
        case check_type::http:
            return "http";
        case check_type::https:
            return "https";
        case check_type::tcp:
            return "tcp";
        case check_type::script:
            return "script";
        case check_type::udp:
            return "udp";
        case check_type::dns:
            return "dns";
        case check_type::icmp:
            return "icmp";
        case check_type::file:
            return "file";
        case check_type::smtp:
            return "smtp";
        case check_type::grpc:
            return "grpc";
    }
    return "unknown";
}

std::string_view name_of(const check_spec& check) {
    return check.name.empty() ? to_string(check.type) : std::string_view(check.name);
}

std::vector<http_url> urls_of(const http_spec& options) {
    if (!options.urls.empty()) {
        auto urls = options.urls;
        // The check's host is the default of every URL that names none (keepalived's
        // checker-level virtualhost).
        for (auto& url : urls) {
            if (!url.host) {
                url.host = options.host;
            }
        }
        return urls;
    }
    return {http_url{options.path, options.host, options.status, options.body_regex,
                     options.body_regex_absent, options.digest}};
}

probe_key key_of(const check_spec& c, const ip_endpoint& server) {
    probe_key key;
    key.type = c.type;
    key.target = c.connect.value_or(server);
    key.interval = c.interval;
    key.recheck_interval = c.recheck_interval;
    key.timeout = c.timeout;
    // Only the options of the key's own type take part, so a leftover tcp.send on an http check
    // cannot split two identical probes.
    switch (c.type) {
        case check_type::http:
        case check_type::https:
            key.http = c.http;
            key.bind = c.bind;
            break;
        case check_type::tcp:
            key.tcp = c.tcp;
            key.bind = c.bind;
            break;
        case check_type::udp:
            key.udp = c.udp;
            break;
        case check_type::dns:
            key.dns = c.dns;
            break;
        case check_type::smtp:
            key.smtp = c.smtp;
            break;
        case check_type::grpc:
            key.grpc = c.grpc;
            break;
        case check_type::icmp:
            // An echo has no port: real servers on one address share it.
            key.target.port = 0;
            break;
        case check_type::file:
            // The file alone decides: real servers that name the same file share its watch.
            key.file = c.file;
            key.target = ip_endpoint{};
            break;
        case check_type::script:
            key.script = c.script;
            // A script learns the real server it checks from its environment, so two real
            // servers never share a script run even when `connect` points them at one address.
            key.target = server;
            break;
    }
    return key;
}

namespace {

void mix(std::size_t& seed, std::size_t value) {
    seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

}  // namespace

std::size_t probe_key_hash::operator()(const probe_key& key) const {
    std::size_t seed = static_cast<std::size_t>(key.type);
    std::hash<std::string> hs;
    mix(seed, hs(key.target.address.to_string()));
    mix(seed, key.target.port);
    mix(seed, static_cast<std::size_t>(key.interval.count()));
    mix(seed, static_cast<std::size_t>(key.timeout.count()));
    mix(seed, hs(key.http.path));
    mix(seed, hs(key.http.host.value_or("")));
    for (const auto& url : key.http.urls) {
        mix(seed, hs(url.path));
    }
    if (key.bind) {
        mix(seed, hs(key.bind->to_string()));
    }
    mix(seed, hs(key.tcp.send));
    mix(seed, hs(key.udp.send));
    mix(seed, hs(key.dns.name));
    mix(seed, hs(key.file.path));
    mix(seed, hs(key.smtp.helo_name));
    mix(seed, key.smtp.starttls ? 1 : 0);
    mix(seed, hs(key.grpc.service));
    for (const auto& a : key.script.argv) {
        mix(seed, hs(a));
    }
    return seed;
}

}  // namespace vigil::checkers
