#include "config/check_section.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/regex.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "checkers/dns_message.hpp"
#include "checkers/udp_probe.hpp"
#include "config/choice.hpp"
#include "config/value_rules.hpp"

namespace vigil::config {

// The base library's to_string overloads (addresses, families) beside this namespace's.
using vigil::to_string;

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

std::optional<std::string> read_regex(table_reader& reader, std::string_view key) {
    auto regex = reader.string(key);
    if (!regex) {
        return std::nullopt;
    }
    try {
        boost::regex compiled(*regex, boost::regex::perl);
        return regex;
    } catch (const boost::regex_error& e) {
        // Boost's message is a paragraph; its first sentence is the reason.
        std::string reason = e.what();
        reason = reason.substr(0, reason.find(".  "));
        reader.error(key, rule::bad_value,
                     in_quotes(*regex) + " is not a valid regular expression: " + reason +
                         " (at character " + std::to_string(e.position()) + ")");
        return std::nullopt;
    }
}

// What one URL asks for and expects, from a check table or one table of its urls.
void read_url_keys(table_reader& reader, checkers::http_url& url) {
    if (auto request_path = reader.string("path")) {
        if (request_path->empty() || request_path->front() != '/' ||
            !printable_without_space(*request_path)) {
            reader.error("path", rule::bad_value,
                         in_quotes(*request_path) +
                             " is not a request path (it starts with '/' and "
                             "has no spaces or control characters)");
        } else {
            url.path = *request_path;
        }
    }
    if (auto host = reader.string("host")) {
        if (host->empty() || !printable_without_space(*host)) {
            reader.error("host", rule::bad_value,
                         in_quotes(*host) +
                             " is not a Host header value (no spaces or control "
                             "characters)");
        } else {
            url.host = *host;
        }
    }
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
        url.status = checkers::status_set(std::move(ranges));
    }
    url.body_regex = read_regex(reader, "body_regex");
    url.body_regex_absent = read_regex(reader, "body_regex_absent");
    if (auto digest = reader.string("body_digest")) {
        auto parsed = checkers::parse_body_digest(*digest);
        if (parsed) {
            url.digest = *parsed;
        } else {
            reader.error("body_digest", rule::bad_value, parsed.error());
        }
    }
}

}  // namespace

std::optional<check> read_check(file_context& file, const toml::table& table,
                                const std::string& path) {
    auto errors_before = file.error_count();
    table_reader reader(file, table, path);
    check c;
    if (auto name = reader.string("name")) {
        // It becomes a metrics label value and an event field: short and plain.
        bool plain = !name->empty() && name->size() <= 64 &&
                     std::all_of(name->begin(), name->end(), [](unsigned char ch) {
                         return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
                     });
        if (plain) {
            c.name = *name;
        } else {
            reader.error("name", rule::bad_value,
                         in_quotes(*name) +
                             " is not a check name (1 to 64 letters, digits, '-', '_' or '.')");
        }
    }
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
    checkers::http_url single;
    read_url_keys(reader, single);
    c.path = single.path;
    c.host = single.host;
    c.status = single.status;
    c.body_regex = single.body_regex;
    c.body_regex_absent = single.body_regex_absent;
    c.body_digest = single.digest;
    for (const char* key :
         {"path", "host", "status", "body_regex", "body_regex_absent", "body_digest"}) {
        only_for(key, http, "http and https");
    }
    if (const auto* urls = reader.array("urls")) {
        if (urls->empty()) {
            reader.error("urls", rule::missing_key, "lists no URL");
        }
        std::size_t index = 0;
        for (const auto& item : *urls) {
            auto item_path = reader.key_path("urls") + "[" + std::to_string(index++) + "]";
            const auto* url_table = item.as_table();
            if (url_table == nullptr) {
                reader.error_at(item, "urls", rule::wrong_type,
                                "expected a table such as { path = \"/health\" }, got " +
                                    std::string(type_name(item.type())));
                continue;
            }
            table_reader url_reader(file, *url_table, item_path);
            url_reader.require("path");
            checkers::http_url url;
            read_url_keys(url_reader, url);
            url_reader.finish();
            c.urls.push_back(std::move(url));
        }
        // One way to write what a check fetches: a list and a single URL beside it would leave
        // the reader guessing which one runs.
        for (const char* key :
             {"path", "status", "body_regex", "body_regex_absent", "body_digest"}) {
            if (reader.has(key)) {
                reader.error(key, rule::conflicting_keys,
                             "conflicts with urls: write each URL's path and expectations in "
                             "its own table of urls");
            }
        }
    }
    only_for("urls", http, "http and https");

    if (auto limit = reader.integer("body_limit", 1024, 16 * 1024 * 1024)) {
        c.body_limit = static_cast<std::size_t>(*limit);
    }
    only_for("body_limit", http, "http and https");
    if (auto version = reader.string("http_version")) {
        if (*version == "1.0" || *version == "1.1") {
            c.http_version = *version == "1.0" ? checkers::http_version::http_1_0
                                               : checkers::http_version::http_1_1;
        } else {
            reader.error("http_version", rule::bad_value,
                         in_quotes(*version) + " is not 1.0 or 1.1");
        }
    }
    only_for("http_version", http, "http and https");
    if (auto reuse = reader.boolean("reuse_connection")) {
        c.reuse_connection = *reuse;
        // Refused rather than attempted: HTTP/1.0 has no standard persistent connection. Its
        // "Connection: keep-alive" extension is honoured by some servers and silently ignored or
        // mangled by others (and proxies in between), so a reused 1.0 connection would test
        // something other than what the operator asked for.
        if (c.reuse_connection && c.http_version == checkers::http_version::http_1_0) {
            reader.error("reuse_connection", rule::conflicting_keys,
                         "needs http_version = \"1.1\": HTTP/1.0 has no standard persistent "
                         "connection to reuse");
        }
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
    if (auto source = read_address(reader, "bind")) {
        if (c.connect && family_of(*source) != c.connect->family()) {
            reader.error("bind", rule::family_mismatch,
                         to_string(*source) + " is " + std::string(to_string(family_of(*source))) +
                             " but connect " + to_string(*c.connect) + " is " +
                             std::string(to_string(c.connect->family())));
        } else {
            c.bind = *source;
        }
    }
    only_for("bind", http || c.type == check_type::tcp, "http, https and tcp");
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
    c.expect_regex = read_regex(reader, "expect_regex");
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

std::vector<check> read_checks(table_reader& reader) {
    auto& file = reader.file();
    auto errors_before = file.error_count();
    std::vector<check> checks;
    if (const auto* table = reader.table("check")) {
        if (auto c = read_check(file, *table, reader.key_path("check"))) {
            checks.push_back(std::move(*c));
        }
    }
    const auto* list = reader.array("checks");
    if (!list) {
        return checks;
    }
    if (reader.has("check")) {
        reader.error("checks", rule::conflicting_keys,
                     "conflicts with check: write one check as check, or all of them in checks");
    }
    if (list->empty()) {
        reader.error("checks", rule::missing_key, "lists no check");
    }
    std::vector<std::pair<std::string, std::size_t>> names;
    std::size_t index = 0;
    for (const auto& item : *list) {
        auto path = reader.key_path("checks") + "[" + std::to_string(index) + "]";
        const auto* table = item.as_table();
        if (!table) {
            reader.error_at(item, "checks", rule::wrong_type,
                            "expected a check table, got " + std::string(type_name(item.type())));
            ++index;
            continue;
        }
        auto c = read_check(file, *table, path);
        if (c) {
            std::string name(c->name.empty() ? to_string(c->type) : c->name);
            auto taken = std::find_if(names.begin(), names.end(),
                                      [&](const auto& n) { return n.first == name; });
            if (taken != names.end()) {
                file.error(table->source(), rule::duplicate_check_name,
                           path + ": " + in_quotes(name) + (c->name.empty() ? " (its type)" : "") +
                               " is already the name of checks[" + std::to_string(taken->second) +
                               "]; give each check of the list a name of its own");
            } else {
                names.emplace_back(std::move(name), index);
                checks.push_back(std::move(*c));
            }
        }
        ++index;
    }
    if (file.error_count() != errors_before) {
        return {};
    }
    return checks;
}

namespace {

void check_bind_family(file_context& file, const toml::table& table, const std::string& path,
                       const check& c, address_family family, const std::string& target) {
    if (!c.bind || c.connect || family_of(*c.bind) == family) {
        return;
    }
    const auto* node = table.get("bind");
    file.error(node ? node->source() : table.source(), rule::family_mismatch,
               path + ".bind: " + to_string(*c.bind) + " is " +
                   std::string(to_string(family_of(*c.bind))) + " but " + target + " is " +
                   std::string(to_string(family)) +
                   "; a check connects from an address of the family it connects to");
}

}  // namespace

void check_bind_families(file_context& file, const toml::table& table, const std::string& path,
                         const std::vector<check>& checks, address_family family,
                         const std::string& target) {
    // read_checks read `check`, or every table of `checks`, in order: the same tables again.
    if (const auto* one = table.get_as<toml::table>("check")) {
        if (checks.size() == 1) {
            check_bind_family(file, *one, path + ".check", checks.front(), family, target);
        }
        return;
    }
    const auto* list = table.get_as<toml::array>("checks");
    if (!list || list->size() != checks.size()) {
        return;
    }
    for (std::size_t i = 0; i < checks.size(); ++i) {
        check_bind_family(file, *list->get(i)->as_table(),
                          path + ".checks[" + std::to_string(i) + "]", checks[i], family, target);
    }
}

}  // namespace vigil::config
