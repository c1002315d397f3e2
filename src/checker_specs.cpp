#include "checker_specs.hpp"

namespace vigil {

namespace {

checkers::check_spec to_spec(const config::check& c) {
    checkers::check_spec spec;
    spec.name = c.name;
    spec.type = c.type;
    spec.interval = c.interval;
    spec.timeout = c.timeout;
    spec.recheck_interval = c.recheck_interval;
    spec.rise = c.rise;
    spec.fall = c.fall;
    spec.initial_state = c.initial_state == config::initial_health::down ? checkers::health::down
                                                                         : checkers::health::up;
    spec.connect = c.connect;
    spec.http.method = c.method;
    spec.http.path = c.path;
    spec.http.host = c.host;
    spec.http.status = c.status;
    spec.http.body_regex = c.body_regex;
    spec.http.body_regex_absent = c.body_regex_absent;
    spec.http.digest = c.body_digest;
    spec.http.urls = c.urls;
    spec.http.body_limit = c.body_limit;
    spec.http.version = c.http_version;
    spec.http.reuse_connection = c.reuse_connection;
    spec.bind = c.bind;
    spec.http.tls_verify = c.tls_verify;
    spec.http.tls_session_reuse = c.tls_session_reuse;
    spec.http.ca_file = c.ca_file;
    spec.http.sni = c.sni;
    spec.tcp.send = c.send.value_or("");
    spec.tcp.expect = c.expect.value_or("");
    spec.udp.send = c.send.value_or("");
    spec.udp.expect = c.expect.value_or("");
    spec.udp.expect_regex = c.expect_regex;
    spec.udp.require_reply = c.require_reply;
    spec.dns.name = c.query_name;
    spec.dns.type = c.query_type;
    spec.dns.transport = c.transport;
    spec.dns.rcode = c.rcode;
    spec.dns.answer = c.answer;
    spec.file.path = c.state_file;
    spec.file.missing_state = c.missing_state == config::initial_health::up
                                  ? checkers::health::up
                                  : checkers::health::down;
    spec.smtp.helo_name = c.helo_name;
    spec.smtp.starttls = c.starttls;
    spec.smtp.tls_verify = c.tls_verify;
    spec.smtp.ca_file = c.ca_file;
    spec.smtp.sni = c.sni;
    spec.grpc.service = c.service;
    spec.grpc.tls = c.tls;
    spec.grpc.tls_verify = c.tls_verify;
    spec.grpc.ca_file = c.ca_file;
    spec.grpc.sni = c.sni;
    spec.script.argv = c.command;
    // Looked up when the config was loaded: building specs never waits on NSS.
    spec.script.user = c.user;
    spec.script.dynamic_weight = c.dynamic_weight;
    return spec;
}

}  // namespace

std::vector<checkers::checked_server_spec> checked_real_servers(
    const config::configuration& config) {
    std::vector<checkers::checked_server_spec> out;
    for (const auto& vs : config.virtual_servers) {
        for (const auto& rs : vs.real_servers) {
            const auto& checks = vs.checks_for(rs);
            if (checks.empty()) {
                continue;
            }
            checkers::checked_server_spec spec{rs.name, vs.name, rs.address, rs.weight, {}};
            spec.checks.reserve(checks.size());
            for (const auto& check : checks) {
                spec.checks.push_back(to_spec(check));
            }
            out.push_back(std::move(spec));
        }
    }
    return out;
}

}  // namespace vigil
