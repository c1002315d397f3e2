#include "import/virtual_server_translation.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "base/address.hpp"
#include "import/toml_text.hpp"

namespace vigil::import {

using vigil::to_string;

namespace {

using namespace std::chrono_literals;

constexpr std::array schedulers{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                "sh", "sed", "nq", "fo",  "ovf",  "mh"};
constexpr std::array check_keywords{"HTTP_GET", "SSL_GET", "TCP_CHECK", "MISC_CHECK"};
constexpr std::array unsupported_checks{"SMTP_CHECK", "DNS_CHECK", "UDP_CHECK",
                                        "PING_CHECK", "BFD_CHECK", "FILE_CHECK"};

template <std::size_t N>
bool one_of(std::string_view word, const std::array<const char*, N>& words) {
    return std::any_of(words.begin(), words.end(), [&](const char* w) { return word == w; });
}

// keepalived's checker options that a virtual server or real server sets for the checks below
// it, and a checker may set for itself.
struct check_settings {
    std::optional<milliseconds> delay_loop;
    std::optional<milliseconds> connect_timeout;
    std::optional<milliseconds> delay_before_retry;
    std::optional<std::int64_t> retry;
    bool alpha = false;
    std::optional<std::string> virtualhost;

    static bool is_setting(std::string_view k) {
        return k == "delay_loop" || k == "connect_timeout" || k == "delay_before_retry" ||
               k == "retry" || k == "nb_get_retry" || k == "alpha" || k == "virtualhost" ||
               k == "warmup";
    }

    // True when the statement is one of these options (read, or warned about).
    bool read(const keepalived_statement& s, translation_context& context) {
        const auto& k = s.keyword;
        if (k == "delay_loop") {
            delay_loop = context.seconds(s, 100ms, 1h).value_or(delay_loop.value_or(60s));
        } else if (k == "connect_timeout") {
            connect_timeout = context.seconds(s, 10ms, 1h).value_or(connect_timeout.value_or(5s));
        } else if (k == "delay_before_retry") {
            delay_before_retry = context.seconds(s, 0ms, 1h);
        } else if (k == "retry" || k == "nb_get_retry") {
            retry = context.integer(s, 0, 999);
        } else if (k == "alpha") {
            alpha = s.arguments.empty() || lower(s.arguments[0]) != "false";
        } else if (k == "virtualhost") {
            virtualhost = context.argument(s);
        } else if (k == "warmup") {
            // vigil always spreads first probes over the interval with jitter, as warmup does.
        } else {
            return false;
        }
        return true;
    }
};

struct check_text {
    std::string table;  // the inline table
    std::string comment;
    std::string type;  // vigil's name of it: http, https, tcp, script
};

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i ? ", " : "") + items[i];
    }
    return out;
}

class real_server_checks {
  public:
    real_server_checks(translation_context& context, const ip_endpoint& server)
        : context_(context), server_(server) {}

    std::optional<check_text> translate(const keepalived_statement& checker,
                                        check_settings settings) {
        const auto& type = checker.keyword;
        bool http = type == "HTTP_GET" || type == "SSL_GET";
        bool script = type == "MISC_CHECK";
        std::optional<std::string> connect_ip;
        std::optional<std::int64_t> connect_port;
        std::vector<std::string> fields;
        std::vector<std::string> notes;
        std::vector<const keepalived_statement*> urls;
        std::optional<std::string> http_version;
        std::optional<ip_address> bind;
        const keepalived_statement* bind_statement = nullptr;
        std::optional<std::vector<std::string>> argv;
        std::optional<milliseconds> misc_timeout;
        std::optional<std::string> user;
        bool dynamic = false;
        bool sni = false;
        for (const auto& s : checker.block) {
            if (settings.read(s, context_)) {
                continue;
            }
            const auto& k = s.keyword;
            if (k == "connect_ip" && !script) {
                connect_ip = context_.argument(s);
            } else if (k == "connect_port" && !script) {
                connect_port = context_.integer(s, 1, 65535);
            } else if (k == "url" && http) {
                urls.push_back(&s);
            } else if (k == "http_protocol" && http) {
                // 1.0C only adds "Connection: close", which vigil sends with either version.
                auto version = context_.argument(s);
                if (version && (*version == "1.0" || lower(*version) == "1.0c")) {
                    http_version = "1.0";
                } else if (version && *version == "1.1") {
                    http_version = "1.1";
                } else if (version) {
                    context_.warn(s, "http_protocol '" + *version +
                                         "' is not 1.0, 1.0C or 1.1: vigil's HTTP/1.1 is used");
                }
            } else if (k == "bindto" && !script) {
                // keepalived's spelling; it knows no "bind_to" (that one is warned as unknown).
                if (auto text = context_.argument(s)) {
                    auto address = parse_address(*text);
                    if (!address) {
                        context_.warn(s, "bindto '" + *text +
                                             "' is not an address: not translated (the "
                                             "kernel picks the source address)");
                    } else {
                        bind = *address;
                        bind_statement = &s;
                    }
                }
            } else if (k == "enable_sni" && type == "SSL_GET") {
                sni = true;
            } else if (k == "misc_path" && script) {
                if (auto text = context_.argument(s)) {
                    argv = context_.command(s, *text);
                }
            } else if (k == "misc_timeout" && script) {
                misc_timeout = context_.seconds(s, 10ms, 1h);
            } else if (k == "misc_dynamic" && script) {
                dynamic = true;
            } else if (k == "user" && script) {
                user = context_.argument(s);
                if (s.arguments.size() > 1) {
                    context_.warn(s, "MISC_CHECK group '" + s.arguments[1] +
                                         "' is not translated: the user's own group is used");
                }
            } else {
                context_.not_translated(s);
            }
        }
        if (script && !argv) {
            context_.warn(checker, "MISC_CHECK without a program vigil can run: not translated");
            return std::nullopt;
        }
        auto interval = settings.delay_loop.value_or(60s);
        auto timeout =
            script ? misc_timeout.value_or(interval) : settings.connect_timeout.value_or(5s);
        if (timeout > interval) {
            context_.warn(checker, type + ": timeout " + duration_text(timeout) +
                                       " is longer than delay_loop " + duration_text(interval) +
                                       "; vigil needs it within the interval: set to " +
                                       duration_text(interval));
            notes.push_back("timeout cut to the interval (keepalived had " +
                            duration_text(timeout) + ")");
            timeout = interval;
        }
        std::int64_t retry = settings.retry.value_or(script ? 0 : 1);
        auto retry_delay = settings.delay_before_retry.value_or(http ? 3s : 1s);
        std::string vigil_type = type == "SSL_GET" ? "https"
                                 : http            ? "http"
                                 : script          ? "script"
                                                   : "tcp";
        fields.push_back("type = " + toml_string(vigil_type));
        fields.push_back("interval = " + toml_string(duration_text(interval)));
        fields.push_back("timeout = " + toml_string(duration_text(timeout)));
        fields.push_back("rise = 1");
        fields.push_back("fall = " + std::to_string(retry + 1));
        if (retry > 0) {
            auto recheck = std::clamp(retry_delay, milliseconds(10), interval);
            fields.push_back("recheck_interval = " + toml_string(duration_text(recheck)));
            notes.push_back("keepalived retry " + std::to_string(retry) + ", delay_before_retry " +
                            duration_text(retry_delay) + ": down after " +
                            std::to_string(retry + 1) + " failed probes in a row, " +
                            duration_text(recheck) + " apart; up after one good probe");
        } else {
            notes.push_back(
                "keepalived retry 0: down at the first failed probe, up after one "
                "good probe");
        }
        if (settings.alpha) {
            fields.push_back("initial_state = \"down\"");
            notes.push_back("alpha: out of service until the first good probe");
        }
        ip_address target_address = server_.address;
        if (!script && (connect_ip || connect_port)) {
            auto address = server_.address;
            if (connect_ip) {
                if (auto parsed = parse_address(*connect_ip)) {
                    address = *parsed;
                } else {
                    context_.warn(checker, "connect_ip '" + *connect_ip +
                                               "' is not an address: the real server's is used");
                }
            }
            ip_endpoint target{
                address, connect_port ? static_cast<std::uint16_t>(*connect_port) : server_.port};
            fields.push_back("connect = " + toml_string(to_string(target)));
            target_address = address;
        }
        if (bind) {
            if (bind->is_v6() != target_address.is_v6()) {
                context_.warn(*bind_statement, "bindto " + to_string(*bind) +
                                                   " is not of the family of " +
                                                   to_string(target_address) + ": not translated");
            } else {
                fields.push_back("bind = " + toml_string(to_string(*bind)));
            }
        }
        if (http) {
            http_fields(urls, settings, fields);
            if (http_version) {
                fields.push_back("http_version = " + toml_string(*http_version));
            }
            if (type == "SSL_GET") {
                fields.push_back("tls_verify = false");
                notes.push_back(
                    "keepalived's SSL_GET does not verify the certificate; set "
                    "tls_verify = true (and ca_file) to have vigil verify it");
                if (!sni) {
                    notes.push_back(
                        "vigil sends SNI (the Host), which SSL_GET does only with "
                        "enable_sni");
                }
            }
        }
        if (script) {
            fields.push_back("command = " + toml_string_array(*argv));
            if (user) {
                fields.push_back("user = " + toml_string(*user));
            }
            if (dynamic) {
                fields.push_back("dynamic_weight = true");
                notes.push_back("misc_dynamic: exit 2-255 is healthy with weight exit - 2");
            }
        }
        std::string comment;
        for (const auto& note : notes) {
            comment += (comment.empty() ? "" : "\n") + note;
        }
        return check_text{"{ " + join(fields) + " }", comment, vigil_type};
    }

  private:
    // What one url block asks for and expects, as the keys of a check or of one of its urls.
    struct url_text {
        std::string path = "/";
        std::optional<std::string> host;
        std::vector<std::string> status;
        std::optional<std::string> digest, regex;
        bool regex_absent = false;

        void append(std::vector<std::string>& fields, bool with_host) const {
            fields.push_back("path = " + toml_string(path));
            if (with_host && host) {
                fields.push_back("host = " + toml_string(*host));
            }
            if (!status.empty()) {
                fields.push_back("status = [" + join(status) + "]");
            }
            if (digest) {
                fields.push_back("body_digest = " + toml_string("md5:" + lower(*digest)));
            }
            if (regex) {
                fields.push_back((regex_absent ? "body_regex_absent = " : "body_regex = ") +
                                 toml_string(*regex));
            }
        }
    };

    url_text read_url(const keepalived_statement& url) {
        url_text out;
        const keepalived_statement* no_match = nullptr;
        for (const auto& s : url.block) {
            if (s.keyword == "path") {
                out.path = context_.argument(s).value_or(out.path);
            } else if (s.keyword == "digest") {
                out.digest = context_.argument(s);
            } else if (s.keyword == "status_code") {
                // "200" or "200-299", codes 100 to 599.
                auto http_code = [](std::string_view text) {
                    return text.size() == 3 &&
                           std::all_of(text.begin(), text.end(),
                                       [](char c) { return c >= '0' && c <= '9'; }) &&
                           text >= "100" && text <= "599";
                };
                for (const auto& code : s.arguments) {
                    auto dash = code.find('-');
                    bool range = dash != std::string::npos &&
                                 http_code(std::string_view(code).substr(0, dash)) &&
                                 http_code(std::string_view(code).substr(dash + 1));
                    bool digits =
                        !code.empty() && std::all_of(code.begin(), code.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
                    if (digits && code.size() <= 3 && std::stoi(code) >= 100 &&
                        std::stoi(code) <= 599) {
                        out.status.push_back(std::to_string(std::stoi(code)));
                    } else if (range && !digits) {
                        out.status.push_back(toml_string(code));
                    } else {
                        context_.warn(s, "status_code '" + code + "' is not a code: skipped");
                    }
                }
            } else if (s.keyword == "virtualhost") {
                out.host = context_.argument(s);
            } else if (s.keyword == "regex") {
                out.regex = context_.argument(s);
            } else if (s.keyword == "regex_no_match") {
                out.regex_absent = true;
                no_match = &s;
            } else {
                context_.not_translated(s);
            }
        }
        if (out.path.empty() || out.path.front() != '/') {
            out.path = "/" + out.path;
        }
        if (no_match && !out.regex) {
            // As keepalived does: the option means nothing without its regex.
            context_.warn(*no_match, "regex_no_match without a regex: ignored");
            out.regex_absent = false;
        }
        return out;
    }

    void http_fields(const std::vector<const keepalived_statement*>& urls,
                     const check_settings& settings, std::vector<std::string>& fields) {
        if (urls.empty()) {
            fields.push_back("path = \"/\"");
            if (settings.virtualhost) {
                fields.push_back("host = " + toml_string(*settings.virtualhost));
            }
            return;
        }
        if (urls.size() == 1) {
            auto url = read_url(*urls.front());
            if (!url.host) {
                url.host = settings.virtualhost;
            }
            url.append(fields, true);
            return;
        }
        // Several url blocks: one run fetches each in order and passes only if all pass, as
        // keepalived's checker does over its url list.
        if (settings.virtualhost) {
            fields.push_back("host = " + toml_string(*settings.virtualhost));
        }
        std::string list;
        for (const auto* statement : urls) {
            std::vector<std::string> keys;
            read_url(*statement).append(keys, true);
            list += (list.empty() ? "" : ", ") + ("{ " + join(keys) + " }");
        }
        fields.push_back("urls = [" + list + "]");
    }

    translation_context& context_;
    ip_endpoint server_;
};

struct real_server_text {
    std::string address;
    toml_table_text keys{""};        // every key but address and check
    std::vector<check_text> checks;  // all must pass, as keepalived's checkers of one server
    bool had_checks = false;
    bool inhibit = false;
};

class virtual_server_builder {
  public:
    virtual_server_builder(const keepalived_statement& vs, translation_context& context)
        : vs_(vs), context_(context) {}

    std::optional<translated_virtual_server> build(std::set<std::string>& names) {
        if (!service()) {
            return std::nullopt;
        }
        for (const auto& s : vs_.block) {
            if (!settings_.read(s, context_) && s.keyword != "real_server") {
                statement(s);
            }
        }
        for (const auto& s : vs_.block) {
            if (s.keyword == "real_server") {
                real_server(s);
            }
        }
        std::string base =
            fwmark_
                ? "fwmark-" + *fwmark_
                : vigil_name(to_string(service_->address) + "-" + std::to_string(service_->port));
        if (protocol_ != "tcp" && !fwmark_) {
            base += "-" + protocol_;
        }
        std::string name = base;
        for (int n = 2; !names.insert(name).second; ++n) {
            name = base + "-" + std::to_string(n);
        }
        return translated_virtual_server{name, text(), servers_.size()};
    }

  private:
    bool service() {
        const auto& a = vs_.arguments;
        if (a.size() >= 1 && a[0] == "group") {
            context_.warn(vs_,
                          "virtual_server group is not translated: vigil has no virtual "
                          "server groups (write one virtual server per address): skipped");
            return false;
        }
        if (a.size() == 2 && a[0] == "fwmark") {
            keepalived_statement mark{"fwmark", {a[1]}, false, {}, vs_.where};
            auto value = context_.integer(mark, 1, 0xffffffff);
            if (!value) {
                return false;
            }
            fwmark_ = std::to_string(*value);  // "007" is no TOML integer
            return true;
        }
        if (a.size() == 2) {
            auto address = parse_address(a[0]);
            keepalived_statement port{"port", {a[1]}, false, {}, vs_.where};
            auto number = context_.integer(port, 1, 65535);
            if (address && number) {
                service_ = ip_endpoint{*address, static_cast<std::uint16_t>(*number)};
                return true;
            }
        }
        context_.warn(vs_, "virtual_server needs 'IP PORT' or 'fwmark N': skipped");
        return false;
    }

    address_family family() const {
        return service_ ? service_->family() : family_.value_or(address_family::ipv4);
    }

    void statement(const keepalived_statement& s) {
        const auto& k = s.keyword;
        if (k == "lb_algo" || k == "lvs_sched") {
            if (auto value = context_.argument(s)) {
                if (one_of(lower(*value), schedulers)) {
                    keys_.set("scheduler", toml_string(lower(*value)));
                } else {
                    context_.warn(s, "scheduler '" + *value +
                                         "' is not one vigil knows: the "
                                         "default wlc is used");
                }
            }
        } else if (k == "lb_kind" || k == "lvs_method") {
            if (auto value = context_.argument(s)) {
                auto method = lower(*value);
                if (method == "nat" || method == "dr" || method == "tun") {
                    forwarding_ = method;
                    keys_.set("forwarding", toml_string(method));
                    if (s.arguments.size() > 1) {
                        context_.warn(s, "tunnel options after '" + *value +
                                             "' are not translated (vigil uses ipip)");
                    }
                } else {
                    context_.warn(s, "forwarding method '" + *value + "' is not known: nat used");
                }
            }
        } else if (k == "protocol") {
            if (auto value = context_.argument(s)) {
                auto p = lower(*value);
                if (fwmark_) {
                    keys_.comment("keepalived: protocol " + *value +
                                  " (a fwmark service matches by mark, whatever the protocol)");
                } else if (p == "tcp" || p == "udp" || p == "sctp") {
                    protocol_ = p;
                } else {
                    context_.warn(s, "protocol '" + *value + "' is not tcp, udp or sctp: tcp used");
                }
            }
        } else if (k == "persistence_timeout") {
            auto value = s.arguments.empty() ? std::optional(milliseconds(360s))
                                             : context_.seconds(s, 0ms, 30 * 24h);
            if (value) {
                keys_.set("persistence_timeout",
                          toml_string(duration_text(
                              std::chrono::duration_cast<std::chrono::seconds>(*value))));
            }
        } else if (k == "persistence_granularity") {
            if (auto value = context_.argument(s)) {
                auto mask = parse_address(*value);
                bool digits =
                    !value->empty() && std::all_of(value->begin(), value->end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
                if (digits && value->size() <= 3) {
                    keys_.set("persistence_netmask", std::to_string(std::stoi(*value)));
                } else if (mask && mask->is_v4()) {
                    keys_.set("persistence_netmask", toml_string(*value));
                } else {
                    context_.warn(s, "persistence_granularity '" + *value +
                                         "' is not a netmask: not translated");
                }
            }
        } else if (k == "quorum") {
            quorum_ = context_.integer(s, 0, 0xffffffff);
        } else if (k == "hysteresis") {
            hysteresis_ = context_.integer(s, 0, 0xffffffff);
        } else if (k == "sorry_server") {
            sorry(s);
        } else if (k == "inhibit_on_failure") {
            inhibit_ = true;
        } else if (k == "ops") {
            one_packet_ = &s;
        } else if (k == "sh-port" || k == "sh-fallback" || k == "mh-port" || k == "mh-fallback") {
            flags_.push_back(k);
        } else if (k == "ip_family") {
            if (auto value = context_.argument(s); value && fwmark_) {
                family_ = *value == "inet6" ? address_family::ipv6 : address_family::ipv4;
                keys_.set("family", toml_string(*value == "inet6" ? "ipv6" : "ipv4"));
            }
        } else if (k == "quorum_up" || k == "quorum_down") {
            context_.not_translated(
                s,
                "vigil logs virtual_server.quorum_lost / quorum_regained; an [[alert]] hook "
                "can run the program");
        } else {
            context_.not_translated(s);
        }
    }

    void sorry(const keepalived_statement& s) {
        auto address =
            s.arguments.empty() ? std::nullopt : std::optional(parse_address(s.arguments[0]));
        if (!address || !*address) {
            context_.warn(s, "sorry_server needs an address: not translated");
            return;
        }
        std::uint16_t port = service_ ? service_->port : 0;
        if (s.arguments.size() > 1) {
            keepalived_statement p{"port", {s.arguments[1]}, false, {}, s.where};
            port = static_cast<std::uint16_t>(context_.integer(p, 1, 65535).value_or(port));
        }
        if (port == 0) {
            context_.warn(s,
                          "sorry_server without a port on a fwmark service: not translated "
                          "(vigil needs one)");
            return;
        }
        keys_.set("sorry_server", toml_string(to_string(ip_endpoint{**address, port})));
    }

    void real_server(const keepalived_statement& s) {
        if (s.arguments.empty()) {
            context_.warn(s, "real_server without an address: skipped");
            return;
        }
        auto address = parse_address(s.arguments[0]);
        if (!address) {
            context_.warn(s, "real_server '" + s.arguments[0] + "' is not an address: skipped");
            return;
        }
        std::optional<std::uint16_t> port;
        if (s.arguments.size() > 1) {
            keepalived_statement p{"port", {s.arguments[1]}, false, {}, s.where};
            if (auto n = context_.integer(p, 1, 65535)) {
                port = static_cast<std::uint16_t>(*n);
            }
        }
        real_server_text out;
        if (!port) {
            if (!service_) {
                context_.warn(s, "real_server " + s.arguments[0] +
                                     " has no port; vigil needs one for a fwmark service: "
                                     "skipped");
                return;
            }
            port = service_->port;
        }
        if (service_ && forwarding_ != "nat" && *port != service_->port) {
            out.keys.comment("keepalived had port " + std::to_string(*port) + "; with " +
                             forwarding_ + " the kernel keeps the service's port, as written here");
            port = service_->port;
        }
        ip_endpoint endpoint{*address, *port};
        if (endpoint.family() != family() && (service_ || family_)) {
            context_.warn(s, "real_server " + to_string(endpoint) +
                                 " is not in the virtual server's address family: skipped");
            return;
        }
        if (!service_ && !family_) {
            family_ = endpoint.family();
        }
        out.address = to_string(endpoint);
        if (std::any_of(servers_.begin(), servers_.end(),
                        [&](const auto& other) { return other.address == out.address; })) {
            context_.warn(s, "real_server " + out.address + " is listed twice: skipped");
            return;
        }
        check_settings settings = settings_;
        for (const auto& line : s.block) {
            settings.read(line, context_);
        }
        real_server_checks checks(context_, endpoint);
        for (const auto& line : s.block) {
            const auto& k = line.keyword;
            if (k == "weight") {
                if (auto w = context_.integer(line, 0, 65535)) {
                    out.keys.set("weight", std::to_string(*w));
                }
            } else if (k == "inhibit_on_failure") {
                out.inhibit = true;
            } else if (k == "uthreshold" || k == "lthreshold") {
                if (auto n = context_.integer(line, 0, 0xffffffff)) {
                    out.keys.set(k == "uthreshold" ? "upper_threshold" : "lower_threshold",
                                 std::to_string(*n));
                }
            } else if (one_of(k, check_keywords)) {
                out.had_checks = true;
                if (auto check = checks.translate(line, settings)) {
                    out.checks.push_back(std::move(*check));
                }
            } else if (one_of(k, unsupported_checks)) {
                out.had_checks = true;
                context_.warn(line, k + " is not translated: vigil checks with http, https, tcp "
                                        "and script");
            } else if (k == "notify_up" || k == "notify_down") {
                context_.not_translated(line,
                                        "vigil logs real_server.up / real_server.down; an "
                                        "[[alert]] hook can run the program");
            } else if (!check_settings::is_setting(k)) {
                context_.not_translated(line);
            }
        }
        name_repeated_types(out.checks);
        if (out.had_checks && out.checks.empty()) {
            out.keys.comment(
                "keepalived checked this server with a check vigil cannot run: it is not "
                "checked (always up)");
        }
        servers_.push_back(std::move(out));
    }

    std::string text() {
        toml_table_text out("[virtual_server]");
        if (fwmark_) {
            out.set("fwmark", *fwmark_);
        } else {
            out.set("address", toml_string(to_string(*service_)));
            out.set("protocol", toml_string(protocol_));
        }
        out.append_lines(keys_);
        if (one_packet_ && protocol_ == "udp" && !fwmark_) {
            out.set("one_packet", "true");
        } else if (one_packet_) {
            context_.warn(*one_packet_, "ops applies to UDP services only: not translated");
        }
        return finish(out);
    }

    std::string finish(toml_table_text& out) {
        if (!flags_.empty()) {
            out.set("scheduler_flags", toml_string_array(flags_));
        }
        if (quorum_) {
            out.set("quorum", std::to_string(*quorum_));
        }
        if (hysteresis_) {
            auto limit = quorum_.value_or(1);
            if (*hysteresis_ > limit) {
                context_.warn(vs_, "hysteresis " + std::to_string(*hysteresis_) +
                                       " is above the quorum " + std::to_string(limit) +
                                       "; vigil needs it within: set to the quorum");
                hysteresis_ = limit;
            }
            out.set("hysteresis", std::to_string(*hysteresis_));
        }
        bool some_inhibit =
            std::any_of(servers_.begin(), servers_.end(), [](const auto& s) { return s.inhibit; });
        bool all_inhibit =
            !servers_.empty() &&
            std::all_of(servers_.begin(), servers_.end(), [](const auto& s) { return s.inhibit; });
        if (inhibit_ || all_inhibit) {
            out.set("on_failure", "\"inhibit\"", "keepalived's inhibit_on_failure: weight 0");
        } else if (some_inhibit) {
            context_.warn(vs_,
                          "inhibit_on_failure on some real servers only is not translated: "
                          "vigil sets it per virtual server");
        }
        // Checks shared by every real server read best as the virtual server's.
        bool shared =
            !servers_.empty() && !servers_.front().checks.empty() &&
            std::all_of(servers_.begin(), servers_.end(), [&](const auto& s) {
                const auto& first = servers_.front().checks;
                return std::equal(s.checks.begin(), s.checks.end(), first.begin(), first.end(),
                                  [](const check_text& a, const check_text& b) {
                                      return a.table == b.table &&
                                             a.table.find("connect = ") == std::string::npos &&
                                             a.comment == b.comment;
                                  });
            });
        if (shared) {
            write_checks(out, servers_.front().checks);
        }
        std::string text = out.text();
        for (const auto& server : servers_) {
            toml_table_text table("\n[[virtual_server.real_server]]");
            table.set("address", toml_string(server.address));
            table.append_lines(server.keys);
            if (!shared) {
                write_checks(table, server.checks);
            }
            text += table.text();
        }
        return text;
    }

    // Two checkers of one type need names to tell them apart: "http-1", "http-2".
    static void name_repeated_types(std::vector<check_text>& checks) {
        std::map<std::string, int> seen;
        for (const auto& c : checks) {
            ++seen[c.type];
        }
        std::map<std::string, int> numbered;
        for (auto& c : checks) {
            if (seen[c.type] > 1) {
                auto name = c.type + "-" + std::to_string(++numbered[c.type]);
                c.table.insert(2, "name = " + toml_string(name) + ", ");
            }
        }
    }

    // One check as `check`, several as `checks` (a real server is up while all pass).
    static void write_checks(toml_table_text& table, const std::vector<check_text>& checks) {
        if (checks.size() == 1) {
            if (!checks.front().comment.empty()) {
                table.comment(checks.front().comment);
            }
            table.set("check", checks.front().table);
            return;
        }
        if (checks.empty()) {
            return;
        }
        std::string list = "[";
        for (const auto& c : checks) {
            list += "\n";
            if (!c.comment.empty()) {
                // Written as comment() writes one: keepalived's text made safe for TOML.
                toml_table_text note("");
                note.comment(c.comment);
                list += note.text();
            }
            list += c.table + ",";
        }
        list += "\n]";
        table.set("checks", list);
    }

    const keepalived_statement& vs_;
    translation_context& context_;
    std::optional<ip_endpoint> service_;
    std::optional<std::string> fwmark_;
    std::optional<address_family> family_;
    std::string protocol_ = "tcp";
    std::string forwarding_ = "nat";
    std::optional<std::int64_t> quorum_;
    std::optional<std::int64_t> hysteresis_;
    std::vector<std::string> flags_;
    const keepalived_statement* one_packet_ = nullptr;
    bool inhibit_ = false;
    check_settings settings_;
    toml_table_text keys_{""};
    std::vector<real_server_text> servers_;
};

}  // namespace

std::optional<translated_virtual_server> translate_virtual_server(
    const keepalived_statement& virtual_server, std::set<std::string>& names,
    translation_context& context) {
    virtual_server_builder builder(virtual_server, context);
    return builder.build(names);
}

}  // namespace vigil::import
