// The checks section's udp, dns and smtp keys, read into the model (their bad values are in
// tests/config/bad).

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "checker_specs.hpp"
#include "config/loader.hpp"

using namespace vigil;
using namespace vigil::config;

namespace {

struct scratch_config {
    std::filesystem::path dir;
    explicit scratch_config(const std::string& virtual_server) {
        char pattern[] = "/tmp/vigil-check-types-XXXXXX";
        dir = ::mkdtemp(pattern);
        std::filesystem::create_directories(dir / "vs");
        std::ofstream(dir / "vigil.toml") << "[global]\ninclude = [\"vs/*.toml\"]\n";
        std::ofstream(dir / "vs/dns.toml") << virtual_server;
    }
    ~scratch_config() { std::filesystem::remove_all(dir); }
    load_result load() const { return load_configuration((dir / "vigil.toml").string()); }
};

std::string joined(const std::vector<diagnostic>& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics) {
        out += to_string(d) + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("a udp check reads its payload as text or hex, its expectations and require_reply") {
    scratch_config files(R"([virtual_server]
address = "192.0.2.1:53"
protocol = "udp"
check = { type = "udp", send_hex = "00 01 ff", expect = "PONG", expect_regex = "^P", require_reply = false }
[[virtual_server.real_server]]
address = "192.0.2.10:53"
)");
    auto result = files.load();
    REQUIRE_MESSAGE(result.config, joined(result.diagnostics));
    auto servers = checked_real_servers(*result.config);
    REQUIRE(servers.size() == 1);
    const auto& udp = servers[0].checks.front().udp;
    CHECK(servers[0].checks.front().type == checkers::check_type::udp);
    CHECK(udp.send == std::string("\x00\x01\xff", 3));
    CHECK(udp.expect == "PONG");
    CHECK(udp.expect_regex == "^P");
    CHECK_FALSE(udp.require_reply);
}

TEST_CASE("a dns check reads the question, transport, rcode by name or number and the answer") {
    scratch_config files(R"([virtual_server]
address = "192.0.2.1:53"
protocol = "udp"
check = { type = "dns", query_name = "Example.ORG.", query_type = "MX", transport = "tcp", rcode = "NXDOMAIN", answer = "10 mail.example.org" }
[[virtual_server.real_server]]
address = "192.0.2.10:53"
[[virtual_server.real_server]]
address = "192.0.2.11:53"
check = { type = "dns", query_name = ".", query_type = "ns", rcode = 5 }
)");
    auto result = files.load();
    REQUIRE_MESSAGE(result.config, joined(result.diagnostics));
    auto servers = checked_real_servers(*result.config);
    REQUIRE(servers.size() == 2);
    const auto& dns = servers[0].checks.front().dns;
    CHECK(dns.name == "example.org");
    CHECK(dns.type == checkers::dns_record_type::mx);
    CHECK(dns.transport == checkers::dns_transport::tcp);
    CHECK(dns.rcode == 3);
    CHECK(dns.answer == "10 mail.example.org");
    const auto& root = servers[1].checks.front().dns;
    CHECK(root.name.empty());
    CHECK(root.type == checkers::dns_record_type::ns);
    CHECK(root.transport == checkers::dns_transport::udp);
    CHECK(root.rcode == 5);
    CHECK_FALSE(root.answer);
}

TEST_CASE("an smtp check with starttls takes tls_verify, ca_file and sni into its spec") {
    scratch_config files(R"([virtual_server]
address = "192.0.2.1:25"
check = { type = "smtp", helo_name = "lb1.example.org", starttls = true, ca_file = "/etc/hostname", sni = "mx.example.org" }
[[virtual_server.real_server]]
address = "192.0.2.10:25"
[[virtual_server.real_server]]
address = "192.0.2.11:25"
check = { type = "smtp", starttls = true, tls_verify = false }
[[virtual_server.real_server]]
address = "192.0.2.12:25"
check = { type = "smtp" }
)");
    auto result = files.load();
    REQUIRE_MESSAGE(result.config, joined(result.diagnostics));
    auto servers = checked_real_servers(*result.config);
    REQUIRE(servers.size() == 3);
    const auto& verified = servers[0].checks.front().smtp;
    CHECK(verified.helo_name == "lb1.example.org");
    CHECK(verified.starttls);
    CHECK(verified.tls_verify);
    CHECK(verified.ca_file == "/etc/hostname");
    CHECK(verified.sni == "mx.example.org");
    const auto& unverified = servers[1].checks.front().smtp;
    CHECK(unverified.starttls);
    CHECK_FALSE(unverified.tls_verify);
    CHECK_FALSE(unverified.ca_file);
    CHECK_FALSE(servers[2].checks.front().smtp.starttls);
}
