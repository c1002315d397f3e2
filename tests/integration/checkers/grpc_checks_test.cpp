// Integration tests of the grpc check type against a real gRPC server: grpcio (Debian's
// python3-grpcio) serving grpc.health.v1.Health/Check in cleartext (h2c) and over TLS
// (grpc_health_server.py).

#include <cstdlib>
#include <filesystem>

#include "checkers/curl_multi.hpp"
#include "checkers/grpc_probe.hpp"
#include "test_support.hpp"

using namespace vigil;
using namespace vigil::checkers;
using namespace vigil::test;
using namespace std::chrono_literals;

namespace {

struct grpc_server {
    child process;
    std::filesystem::path dir;
    std::uint16_t h2c = 0;
    std::uint16_t tls = 0;
    std::string ca;

    grpc_server() {
        char pattern[] = "/tmp/vigil-grpc-XXXXXX";
        REQUIRE(mkdtemp(pattern));
        dir = pattern;
        auto line = process.start(
            {"/usr/bin/python3",
             std::string(VIGIL_SOURCE_DIR) + "/tests/integration/checkers/grpc_health_server.py",
             dir.string()},
            true);
        REQUIRE_MESSAGE(!line.empty(), "grpc_health_server.py did not start (python3-grpcio?)");
        auto doc = boost::json::parse(line).as_object();
        h2c = static_cast<std::uint16_t>(doc.at("h2c").as_int64());
        tls = static_cast<std::uint16_t>(doc.at("tls").as_int64());
        ca = std::string(doc.at("ca").as_string());
    }
    // "set web 2"; the server applies it soon after (callers poll for its effect).
    void command(const std::string& text) {
        auto line = text + "\n";
        REQUIRE(::write(process.stdin_fd, line.data(), line.size()) ==
                static_cast<ssize_t>(line.size()));
    }
    ~grpc_server() {
        process.stop();
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
};

grpc_server& server() {
    static grpc_server instance;
    return instance;
}

std::optional<probe_result> grpc_check(std::uint16_t port, const grpc_spec& spec) {
    boost::asio::io_context io;
    curl_multi multi(io.get_executor());
    grpc_probe p(multi, loopback_endpoint(port), spec, 2000ms);
    std::optional<probe_result> result;
    p.start([&](probe_result r) { result = std::move(r); });
    auto end = std::chrono::steady_clock::now() + 4s;
    while (!result && std::chrono::steady_clock::now() < end) {
        io.run_for(5ms);
    }
    return result;
}

// The result once it gives `reason` ("ok" for success), or the last one after 3 s: a status
// change written to the server takes effect a moment later.
std::string settles_to(std::uint16_t port, const grpc_spec& spec, const std::string& reason) {
    std::string last = "no result";
    auto end = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < end) {
        auto r = grpc_check(port, spec);
        last = r ? r->reason : "no result";
        if (last == reason) {
            break;
        }
        usleep(50000);
    }
    return last;
}

grpc_spec service(const char* name) {
    grpc_spec spec;
    spec.service = name;
    return spec;
}

}  // namespace

TEST_CASE("grpc: SERVING is up and NOT_SERVING down, over h2c, for the server and a service") {
    for (const char* name : {"", "web"}) {
        auto r = grpc_check(server().h2c, service(name));
        REQUIRE(r);
        CHECK_MESSAGE(r->success, "'" << name << "': " << r->reason);
    }
    server().command("set web 2");
    CHECK(settles_to(server().h2c, service("web"), "gRPC health NOT_SERVING") ==
          "gRPC health NOT_SERVING");
    // The server as a whole still serves.
    auto r = grpc_check(server().h2c, service(""));
    REQUIRE(r);
    CHECK(r->success);
    server().command("set web 1");
    CHECK(settles_to(server().h2c, service("web"), "ok") == "ok");
}

TEST_CASE("grpc: an unknown service is down with the server's grpc-status from the trailers") {
    auto r = grpc_check(server().h2c, service("nosuch"));
    REQUIRE(r);
    CHECK(r->reason == "gRPC status NOT_FOUND: unknown service");
}

TEST_CASE("grpc: over TLS, verified against the server's CA and name") {
    auto spec = service("web");
    spec.tls = true;
    spec.ca_file = server().ca;
    spec.sni = "grpc.test";
    auto r = grpc_check(server().tls, spec);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
    server().command("set web 0");
    CHECK(settles_to(server().tls, spec, "gRPC health UNKNOWN") == "gRPC health UNKNOWN");
    server().command("set web 1");
    CHECK(settles_to(server().tls, spec, "ok") == "ok");
    // The system's CAs do not know this certificate.
    spec.ca_file.reset();
    r = grpc_check(server().tls, spec);
    REQUIRE(r);
    CHECK(r->reason.rfind("TLS", 0) == 0);
    // Without verification it passes.
    spec.tls_verify = false;
    r = grpc_check(server().tls, spec);
    REQUIRE(r);
    CHECK_MESSAGE(r->success, r->reason);
}

TEST_CASE("grpc: cleartext against the TLS port, and a closed port, fail") {
    auto r = grpc_check(server().tls, service(""));
    REQUIRE(r);
    CHECK_FALSE(r->success);
    r = grpc_check(unused_tcp_port(), service(""));
    REQUIRE(r);
    CHECK(r->reason == "connection refused");
}
