#include "checkers/check_url.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#pragma GCC diagnostic pop
#include <charconv>
#include <memory>
#include <optional>
#include <random>

#include "base/random_source.hpp"
#include "checkers/curl_multi.hpp"
#include "checkers/dns_message.hpp"
#include "checkers/dns_probe.hpp"
#include "checkers/grpc_probe.hpp"
#include "checkers/icmp_probe.hpp"
#include "checkers/icmp_socket.hpp"
#include "checkers/smtp_probe.hpp"
#include "checkers/tcp_probe.hpp"
#include "checkers/udp_probe.hpp"

namespace vigil::checkers {

namespace {

using result = parse_result<check_url>;

std::optional<std::string> percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%') {
            unsigned value = 0;
            if (i + 2 >= text.size() ||
                std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr !=
                    text.data() + i + 3) {
                return std::nullopt;
            }
            out += static_cast<char>(value);
            i += 2;
        } else {
            out += text[i] == '+' ? ' ' : text[i];
        }
    }
    return out;
}

std::uint16_t default_port(check_type type) {
    switch (type) {
        case check_type::smtp:
            return 25;
        case check_type::dns:
            return 53;
        default:
            return 0;
    }
}

}  // namespace

parse_result<check_url> parse_check_url(std::string_view url) {
    auto sep = url.find("://");
    if (sep == std::string_view::npos) {
        return result::failure("is not a URL (scheme://address...)");
    }
    auto scheme = url.substr(0, sep);
    check_url out;
    bool tls = false;
    if (scheme == "tcp") {
        out.type = check_type::tcp;
    } else if (scheme == "udp") {
        out.type = check_type::udp;
    } else if (scheme == "dns") {
        out.type = check_type::dns;
    } else if (scheme == "icmp") {
        out.type = check_type::icmp;
    } else if (scheme == "smtp") {
        out.type = check_type::smtp;
    } else if (scheme == "grpc" || scheme == "grpcs") {
        out.type = check_type::grpc;
        tls = scheme == "grpcs";
    } else {
        return result::failure("has scheme \"" + std::string(scheme) +
                               "\", not http, https, tcp, udp, dns, icmp, smtp, grpc or grpcs");
    }
    auto rest = url.substr(sep + 3);
    auto query_at = rest.find('?');
    auto query =
        query_at == std::string_view::npos ? std::string_view{} : rest.substr(query_at + 1);
    rest = rest.substr(0, query_at);
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    auto path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

    // ADDR or ADDR:PORT, IPv6 in brackets.
    bool has_port = !authority.empty() && authority.back() != ']' &&
                    authority.find(':') != std::string_view::npos &&
                    (authority.front() == '[' || authority.find(':') == authority.rfind(':'));
    if (has_port) {
        auto endpoint = parse_endpoint(authority);
        if (!endpoint) {
            return result::failure("has address \"" + std::string(authority) +
                                   "\": " + endpoint.error());
        }
        out.target = *endpoint;
    } else {
        auto bare = authority;
        if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
            bare = bare.substr(1, bare.size() - 2);
        }
        auto address = parse_address(bare);
        if (!address) {
            return result::failure("has address \"" + std::string(authority) +
                                   "\": " + address.error());
        }
        out.target = ip_endpoint{*address, default_port(out.type)};
    }
    if (out.target.port == 0 && out.type != check_type::icmp) {
        return result::failure("names no port");
    }

    auto& c = out.check;
    c.type = out.type;
    c.grpc.tls = tls;
    auto decoded_path = percent_decoded(path);
    if (!decoded_path) {
        return result::failure("has a broken %-escape");
    }
    if (out.type == check_type::dns) {
        if (auto problem = dns_name_problem(*decoded_path)) {
            return result::failure("asks for \"" + *decoded_path + "\", not a DNS name: it " +
                                   *problem);
        }
        c.dns.name = canonical_dns_name(*decoded_path);
    } else if (out.type == check_type::grpc) {
        c.grpc.service = *decoded_path;
    } else if (!decoded_path->empty()) {
        return result::failure("has a path, which " + std::string(scheme) + " checks do not use");
    }

    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        auto eq = pair.find('=');
        auto key = pair.substr(0, eq);
        auto value = percent_decoded(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
        if (!value) {
            return result::failure("has a broken %-escape in " + std::string(key));
        }
        auto is = [&](std::string_view want, check_type type) {
            return key == want && out.type == type;
        };
        if (is("send", check_type::udp) || is("send", check_type::tcp)) {
            c.udp.send = c.tcp.send = *value;
        } else if (is("expect", check_type::udp) || is("expect", check_type::tcp)) {
            c.udp.expect = c.tcp.expect = *value;
        } else if (is("send_hex", check_type::udp) || is("expect_hex", check_type::udp)) {
            auto bytes = parse_hex_bytes(*value);
            if (!bytes) {
                return result::failure(std::string(key) + " " + bytes.error());
            }
            (key == "send_hex" ? c.udp.send : c.udp.expect) =
                std::string(bytes->begin(), bytes->end());
        } else if (is("type", check_type::dns)) {
            auto type = parse_dns_record_type(*value);
            if (!type) {
                return result::failure("type \"" + *value + "\" is not a DNS record type");
            }
            c.dns.type = *type;
        } else if (is("rcode", check_type::dns)) {
            auto rcode = parse_dns_rcode(*value);
            if (!rcode) {
                return result::failure("rcode \"" + *value + "\" is not a DNS response code");
            }
            c.dns.rcode = *rcode;
        } else if (is("answer", check_type::dns)) {
            c.dns.answer = *value;
        } else if (is("transport", check_type::dns) && (*value == "tcp" || *value == "udp")) {
            c.dns.transport = *value == "tcp" ? dns_transport::tcp : dns_transport::udp;
        } else if (is("helo", check_type::smtp)) {
            c.smtp.helo_name = *value;
        } else if (is("starttls", check_type::smtp)) {
            // A bare "starttls" turns it on, as a flag does.
            if (*value != "true" && *value != "false" && !value->empty()) {
                return result::failure("starttls \"" + *value + "\" is not true or false");
            }
            c.smtp.starttls = *value != "false";
        } else if (is("sni", check_type::smtp)) {
            c.smtp.sni = *value;
        } else if (key == "sni" && out.type == check_type::grpc && tls) {
            c.grpc.sni = *value;
        } else {
            return result::failure("has \"" + std::string(key) + "\", which " +
                                   std::string(scheme) + " checks do not take");
        }
    }
    if (c.smtp.sni && !c.smtp.starttls) {
        return result::failure("has \"sni\", which smtp checks take only with starttls");
    }
    return out;
}

probe_result run_check_once(const check_url& url, std::chrono::milliseconds timeout) {
    boost::asio::io_context io;
    auto ex = io.get_executor();
    random_source random{std::random_device{}()};
    std::unique_ptr<curl_multi> multi;
    std::unique_ptr<icmp_socket> icmp;
    tls_client_contexts tls_contexts;
    std::unique_ptr<probe> p;
    const auto& c = url.check;
    switch (url.type) {
        case check_type::tcp:
            p = std::make_unique<tcp_probe>(ex, url.target, c.tcp, c.bind);
            break;
        case check_type::udp:
            p = std::make_unique<udp_probe>(ex, url.target, c.udp, timeout);
            break;
        case check_type::dns:
            p = std::make_unique<dns_probe>(ex, url.target, c.dns, random);
            break;
        case check_type::icmp:
            icmp = std::make_unique<icmp_socket>(
                ex, url.target.address.is_v4() ? icmp_version::v4 : icmp_version::v6,
                static_cast<std::uint16_t>(random.uniform(0xffff)));
            p = std::make_unique<icmp_probe>(*icmp, url.target.address);
            break;
        case check_type::smtp:
            p = std::make_unique<smtp_probe>(ex, url.target, c.smtp, tls_contexts);
            break;
        case check_type::grpc:
            multi = std::make_unique<curl_multi>(ex);
            p = std::make_unique<grpc_probe>(*multi, url.target, c.grpc, timeout);
            break;
        default:
            return probe_result::fail("not a check vigil probe runs from a URL");
    }
    std::optional<probe_result> outcome;
    auto started = std::chrono::steady_clock::now();
    p->start([&](probe_result r) { outcome = std::move(r); });
    auto end = started + timeout;
    while (!outcome && std::chrono::steady_clock::now() < end) {
        io.run_one_until(end);
    }
    if (!outcome) {
        p->cancel();
        auto r = probe_result::fail("timeout");
        r.latency = timeout;
        return r;
    }
    return *outcome;
}

}  // namespace vigil::checkers
