#include "config/check_section.hpp"

#include <unistd.h>

#include <boost/regex.hpp>
#include <cerrno>
#include <cstring>

#include "checkers/dns_message.hpp"
#include "checkers/udp_probe.hpp"
#include "config/choice.hpp"
#include "config/value_rules.hpp"

namespace vigil::config {
namespace {

using namespace std::chrono_literals;

constexpr std::array check_types{
    choice<check_type>{"http", check_type::http}, choice<check_type>{"https", check_type::https},
    choice<check_type>{"tcp", check_type::tcp},   choice<check_type>{"script", check_type::script},
    choice<check_type>{"udp", check_type::udp},   choice<check_type>{"dns", check_type::dns},
    choice<check_type>{"icmp", check_type::icmp}, choice<check_type>{"file", check_type::file},
    choice<check_type>{"smtp", check_type::smtp}, choice<check_type>{"grpc", check_type::grpc}};
constexpr std::array initial_states{choice<initial_health>{"up", initial_health::up},
                                    choice<initial_health>{"down", initial_health::down}};
constexpr std::array http_methods{choice<http_method>{"GET", http_method::get},
                                  choice<http_method>{"HEAD", http_method::head}};

}  // namespace

std::optional<check> read_check(file_context& file, const toml::table& table,
                                const std::string& path) {
    auto errors_before = file.error_count();
    table_reader reader(file, table, path);
    check c;
    reader.require("type");
    bool type_known = false;
    if (auto type = read_choice(reader, "type", check_types)) {
        c.type = *type;
        type_known = true;
    }
    auto interval = reader.duration_value("interval", 100ms, 1h);
    if (interval) {
        c.interval = *interval;
    }
    // A refused interval has its diagnostic; measuring other keys against the default in its
    // place would report faults that are not there.
    bool interval_valid = interval || !reader.has("interval");
    if (auto timeout = reader.duration_value("timeout", 10ms, 1h)) {
        c.timeout = *timeout;
        if (interval_valid && c.timeout > c.interval) {
            reader.error("timeout", rule::out_of_range,
                         format_duration(c.timeout) + " is longer than the interval " +
                             format_duration(c.interval));
        }
    }
    c.recheck_interval = std::min(c.interval, duration(1s));
    if (auto recheck = reader.duration_value("recheck_interval", 10ms, 1h)) {
        if (interval_valid && *recheck > c.interval) {
            reader.error("recheck_interval", rule::out_of_range,
                         format_duration(*recheck) + " is longer than the interval " +
                             format_duration(c.interval));
        } else {
            c.recheck_interval = *recheck;
        }
    }
    if (auto initial = read_choice(reader, "initial_state", initial_states)) {
        c.initial_state = *initial;
    }
    if (auto rise = reader.integer("rise", 1, 1000)) {
        c.rise = static_cast<unsigned>(*rise);
    }
    if (auto fall = reader.integer("fall", 1, 1000)) {
        c.fall = static_cast<unsigned>(*fall);
    }

    bool http = c.type == check_type::http || c.type == check_type::https;
    auto only_for = [&](std::string_view key, bool applies, const char* types) {
        if (type_known && !applies && reader.has(key)) {
            reader.error(key, rule::conflicting_keys,
                         "applies only to " + std::string(types) + " checks, not " +
                             std::string(to_string(c.type)));
        }
    };
    if (auto method = read_choice(reader, "method", http_methods)) {
        c.method = *method;
    }
    only_for("method", http, "http and https");
    if (auto request_path = reader.string("path")) {
        if (request_path->empty() || request_path->front() != '/' ||
            !printable_without_space(*request_path)) {
            reader.error("path", rule::bad_value,
                         in_quotes(*request_path) +
                             " is not a request path (it starts with '/' and "
                             "has no spaces or control characters)");
        } else {
            c.path = *request_path;
        }
    }
    only_for("path", http, "http and https");
    if (auto host = reader.string("host")) {
        if (host->empty() || !printable_without_space(*host)) {
            reader.error("host", rule::bad_value,
                         in_quotes(*host) +
                             " is not a Host header value (no spaces or control "
                             "characters)");
        } else {
            c.host = *host;
        }
    }
    only_for("host", http, "http and https");
    if (const auto* status = reader.array("status")) {
        std::vector<checkers::status_set::range> ranges;
        for (const auto& item : *status) {
            std::string text;
            if (const auto* code = item.as_integer()) {
                text = std::to_string(code->get());
            } else if (const auto* range = item.as_string()) {
                text = range->get();
            } else {
                reader.error_at(item, "status", rule::wrong_type,
                                "expected a status code or a \"first-last\" range, got " +
                                    std::string(type_name(item.type())));
                continue;
            }
            auto parsed = checkers::parse_status_range(text);
            if (!parsed) {
                reader.error_at(item, "status", rule::bad_value, parsed.error());
                continue;
            }
            ranges.push_back(*parsed);
        }
        if (status->empty()) {
            reader.error("status", rule::missing_key, "lists no status code");
        }
        c.status = checkers::status_set(std::move(ranges));
    }
    only_for("status", http, "http and https");
    if (auto regex = reader.string("body_regex")) {
        try {
            boost::regex compiled(*regex, boost::regex::perl);
            c.body_regex = *regex;
        } catch (const boost::regex_error& e) {
            // Boost's message is a paragraph; its first sentence is the reason.
            std::string reason = e.what();
            reason = reason.substr(0, reason.find(".  "));
            reader.error("body_regex", rule::bad_value,
                         in_quotes(*regex) + " is not a valid regular expression: " + reason +
                             " (at character " + std::to_string(e.position()) + ")");
        }
    }
    only_for("body_regex", http, "http and https");
    if (auto digest = reader.string("body_digest")) {
        auto parsed = checkers::parse_body_digest(*digest);
        if (parsed) {
            c.body_digest = *parsed;
        } else {
            reader.error("body_digest", rule::bad_value, parsed.error());
        }
    }
    only_for("body_digest", http, "http and https");

    if (auto limit = reader.integer("body_limit", 1024, 16 * 1024 * 1024)) {
        c.body_limit = static_cast<std::size_t>(*limit);
    }
    only_for("body_limit", http, "http and https");
    if (auto reuse = reader.boolean("reuse_connection")) {
        c.reuse_connection = *reuse;
    }
    only_for("reuse_connection", http, "http and https");
    if (auto target = read_endpoint(reader, "connect", port_rule::service)) {
        if (target->port == 0) {
            reader.error("connect", rule::out_of_range,
                         "port 0 is not a service port (1 to 65535)");
        } else {
            c.connect = *target;
        }
    }
    only_for("connect", c.type != check_type::script && c.type != check_type::file,
             "http, https, tcp, udp, dns, icmp, smtp and grpc");
    bool udp = c.type == check_type::udp;
    for (const char* key : {"send", "expect"}) {
        if (auto text = reader.string(key)) {
            if (text->empty()) {
                reader.error(key, rule::bad_value, "is empty");
            } else {
                (std::string_view(key) == "send" ? c.send : c.expect) = *text;
            }
        }
        only_for(key, c.type == check_type::tcp || udp, "tcp and udp");
    }
    // Binary payloads, for protocols whose probes are not text.
    for (std::string_view key : {"send_hex", "expect_hex"}) {
        auto text_key = key.substr(0, key.size() - 4);
        if (auto hex = reader.string(key)) {
            auto bytes = checkers::parse_hex_bytes(*hex);
            if (!bytes) {
                reader.error(key, rule::bad_value, in_quotes(*hex) + " " + bytes.error());
            } else if (bytes->empty()) {
                reader.error(key, rule::bad_value, "is empty");
            } else {
                (text_key == "send" ? c.send : c.expect) =
                    std::string(bytes->begin(), bytes->end());
            }
            if (reader.has(text_key)) {
                reader.error(key, rule::conflicting_keys,
                             "conflicts with " + std::string(text_key) + ": write the " +
                                 (text_key == "send" ? "payload" : "expected reply") +
                                 " once, as text or in hex");
            }
        }
        only_for(key, udp, "udp");
    }
    if (auto regex = reader.string("expect_regex")) {
        try {
            boost::regex compiled(*regex, boost::regex::perl);
            c.expect_regex = *regex;
        } catch (const boost::regex_error& e) {
            std::string reason = e.what();
            reason = reason.substr(0, reason.find(".  "));
            reader.error("expect_regex", rule::bad_value,
                         in_quotes(*regex) + " is not a valid regular expression: " + reason +
                             " (at character " + std::to_string(e.position()) + ")");
        }
    }
    only_for("expect_regex", udp, "udp");
    if (auto required = reader.boolean("require_reply")) {
        c.require_reply = *required;
    }
    only_for("require_reply", udp, "udp");

    bool dns = c.type == check_type::dns;
    if (auto name = reader.string("query_name")) {
        if (auto problem = checkers::dns_name_problem(*name)) {
            reader.error("query_name", rule::bad_value,
                         in_quotes(*name) + " is not a DNS name: it " + *problem);
        } else {
            c.query_name = checkers::canonical_dns_name(*name);
        }
    }
    only_for("query_name", dns, "dns");
    if (auto type = reader.string("query_type")) {
        if (auto parsed = checkers::parse_dns_record_type(*type)) {
            c.query_type = *parsed;
        } else {
            reader.error("query_type", rule::bad_value,
                         in_quotes(*type) + " is not A, AAAA, NS, MX, SOA, TXT, SRV or CNAME");
        }
    }
    only_for("query_type", dns, "dns");
    if (auto transport = reader.string("transport")) {
        if (*transport == "udp" || *transport == "tcp") {
            c.transport =
                *transport == "udp" ? checkers::dns_transport::udp : checkers::dns_transport::tcp;
        } else {
            reader.error("transport", rule::bad_value,
                         in_quotes(*transport) + " is not udp or tcp");
        }
    }
    only_for("transport", dns, "dns");
    if (const auto* rcode = reader.node("rcode")) {
        if (const auto* number = rcode->as_integer()) {
            if (number->get() < 0 || number->get() > 15) {
                reader.error("rcode", rule::out_of_range,
                             std::to_string(number->get()) + " is not between 0 and 15");
            } else {
                c.rcode = static_cast<std::uint8_t>(number->get());
            }
        } else if (auto name = reader.string("rcode")) {
            if (auto parsed = checkers::parse_dns_rcode(*name)) {
                c.rcode = *parsed;
            } else {
                reader.error("rcode", rule::bad_value,
                             in_quotes(*name) +
                                 " is not a response code (NOERROR, NXDOMAIN, "
                                 "SERVFAIL, REFUSED, ... or 0 to 15)");
            }
        }
    }
    only_for("rcode", dns, "dns");
    if (auto answer = reader.string("answer")) {
        if (answer->empty()) {
            reader.error("answer", rule::bad_value, "is empty");
        } else {
            c.answer = *answer;
        }
    }
    only_for("answer", dns, "dns");
    if (type_known && dns) {
        reader.require("query_name");
    }

    bool file_check = c.type == check_type::file;
    if (auto state_file = reader.string("file")) {
        if (state_file->empty() || state_file->front() != '/') {
            reader.error("file", rule::bad_value,
                         in_quotes(*state_file) + " is not an absolute path");
        } else {
            c.state_file = *state_file;
        }
    }
    only_for("file", file_check, "file");
    if (auto missing = reader.string("missing")) {
        if (*missing == "up" || *missing == "down") {
            c.missing_state = *missing == "up" ? initial_health::up : initial_health::down;
        } else {
            reader.error("missing", rule::bad_value, in_quotes(*missing) + " is not up or down");
        }
    }
    only_for("missing", file_check, "file");
    if (type_known && file_check) {
        reader.require("file");
    }

    if (auto helo = reader.string("helo_name")) {
        // A domain, or an address literal ("[192.0.2.1]"); never anything that could end the
        // command line and start another.
        bool literal = helo->size() > 2 && helo->front() == '[' && helo->back() == ']' &&
                       printable_without_space(*helo);
        if (literal || (!helo->empty() && *helo != "." && !checkers::dns_name_problem(*helo) &&
                        printable_without_space(*helo))) {
            c.helo_name = *helo;
        } else {
            reader.error("helo_name", rule::bad_value,
                         in_quotes(*helo) +
                             " is not a host name or an address literal such as \"[192.0.2.1]\"");
        }
    }
    bool smtp = c.type == check_type::smtp;
    only_for("helo_name", smtp, "smtp");
    if (auto starttls = reader.boolean("starttls")) {
        c.starttls = *starttls;
    }
    only_for("starttls", smtp, "smtp");

    bool grpc = c.type == check_type::grpc;
    if (auto service = reader.string("service")) {
        if (!printable_without_space(*service)) {
            reader.error("service", rule::bad_value,
                         in_quotes(*service) +
                             " is not a gRPC service name (no spaces or control characters)");
        } else {
            c.service = *service;
        }
    }
    only_for("service", grpc, "grpc");
    if (auto tls = reader.boolean("tls")) {
        c.tls = *tls;
    }
    only_for("tls", grpc, "grpc");

    // https, grpc with tls = true, and smtp with starttls = true
    bool speaks_tls = c.type == check_type::https || (grpc && c.tls) || (smtp && c.starttls);
    const char* tls_types = "https, grpc (with tls = true) and smtp (with starttls = true)";
    if (auto verify = reader.boolean("tls_verify")) {
        c.tls_verify = *verify;
    }
    only_for("tls_verify", speaks_tls, tls_types);
    if (auto ca_file = reader.string("ca_file")) {
        if (::access(ca_file->c_str(), R_OK) != 0) {
            reader.error("ca_file", rule::unreadable_file,
                         "cannot read " + *ca_file + ": " + std::strerror(errno));
        } else {
            c.ca_file = *ca_file;
        }
        if (reader.has("tls_verify") && !c.tls_verify) {
            reader.error("ca_file", rule::conflicting_keys,
                         "has no effect with tls_verify = false");
        }
    }
    only_for("ca_file", speaks_tls, tls_types);
    if (auto sni = reader.string("sni")) {
        if (sni->empty() || !printable_without_space(*sni)) {
            reader.error("sni", rule::bad_value, in_quotes(*sni) + " is not a server name");
        } else {
            c.sni = *sni;
        }
    }
    only_for("sni", speaks_tls, tls_types);
    if (auto reuse = reader.boolean("tls_session_reuse")) {
        c.tls_session_reuse = *reuse;
    }
    only_for("tls_session_reuse", c.type == check_type::https, "https");

    if (auto argv = read_argv(reader, "command")) {
        c.command = *argv;
    }
    only_for("command", c.type == check_type::script, "script");
    c.user = read_user(reader);
    only_for("user", c.type == check_type::script, "script");
    only_for("group", c.type == check_type::script, "script");
    if (auto dynamic = reader.boolean("dynamic_weight")) {
        c.dynamic_weight = *dynamic;
    }
    only_for("dynamic_weight", c.type == check_type::script, "script");
    if (type_known && c.type == check_type::script) {
        reader.require("command");
    }
    reader.finish();
    if (file.error_count() != errors_before) {
        return std::nullopt;
    }
    return c;
}

}  // namespace vigil::config
