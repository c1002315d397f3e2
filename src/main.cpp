// vigil: VRRP and health-check supervisor for IPVS directors.

#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "base/address.hpp"
#include "base/duration.hpp"
#include "checkers/check_url.hpp"
#include "checkers/probe_once.hpp"
#include "config/loader.hpp"
#include "control_server.hpp"
#include "daemon.hpp"
#include "doctor/host_probe.hpp"
#include "doctor/rules.hpp"
#include "import/file_include_resolver.hpp"
#include "import/keepalived_parser.hpp"
#include "import/keepalived_translator.hpp"
#include "import/output_folder.hpp"
#include "logging.hpp"
#include "plan.hpp"
#include "status.hpp"
#include "version.hpp"

namespace po = boost::program_options;

namespace {

constexpr const char* default_config = "/etc/vigil/vigil.toml";
constexpr const char* default_socket = "/run/vigil/vigil.sock";

// Exit statuses: 0 success, 1 runtime failure, 2 invalid config, 64 usage error (sysexits).
constexpr int exit_failure = 1;
constexpr int exit_bad_config = 2;
constexpr int exit_usage = 64;

struct command {
    const char* summary;
    int (*run)(const std::vector<std::string>& args);
};

// Parses a subcommand's options, and its one positional operand when `operand` is given; prints
// help or a usage error. Returns an exit status to stop with, or -1 to go on.
int parse_options(const std::string& name, const char* synopsis, po::options_description& options,
                  const std::vector<std::string>& args, po::variables_map& values,
                  std::string* operand = nullptr) {
    options.add_options()("help,h", "show this help");
    po::options_description all;
    all.add(options);
    po::options_description hidden;
    po::positional_options_description positional;
    if (operand) {
        hidden.add_options()("operand", po::value(operand));
        positional.add("operand", 1);
        all.add(hidden);
    }
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), values);
        po::notify(values);
    } catch (const po::error& e) {
        std::cerr << "vigil " << name << ": " << e.what() << "\nTry 'vigil " << name
                  << " --help'.\n";
        return exit_usage;
    }
    if (values.count("help")) {
        std::cout << "Usage: vigil " << name << " " << synopsis << "\n\n" << options;
        return 0;
    }
    return -1;
}

vigil::config::load_result load_or_report(const std::string& file) {
    auto result = vigil::config::load_configuration(file);
    for (const auto& d : result.diagnostics) {
        std::cerr << vigil::config::to_string(d) << "\n";
    }
    return result;
}

int run_check(const std::vector<std::string>& args) {
    po::options_description options("Validates a configuration and exits: 0 valid, 2 invalid");
    std::string file;
    options.add_options()("config,c", po::value(&file)->default_value(default_config),
                          "main configuration file");
    po::variables_map values;
    if (int status = parse_options("check", "[-c FILE]", options, args, values); status >= 0) {
        return status;
    }
    auto result = load_or_report(file);
    if (!result.config) {
        return exit_bad_config;
    }
    const auto& config = *result.config;
    std::cout << file << ": OK: "
              << vigil::count_summary(config.vrrp_instances.size(), config.virtual_servers.size(),
                                      config.real_server_count())
              << "\n";
    return 0;
}

int run_daemon(const std::vector<std::string>& args) {
    po::options_description options(
        "Runs the daemon in the foreground.\nSIGTERM or SIGINT stop it; SIGHUP reloads the "
        "configuration (a config that fails validation is refused and the running one stays)");
    std::string file;
    options.add_options()("config,c", po::value(&file)->default_value(default_config),
                          "main configuration file");
    po::variables_map values;
    if (int status = parse_options("run", "[-c FILE]", options, args, values); status >= 0) {
        return status;
    }
    auto result = load_or_report(file);
    if (!result.config) {
        return exit_bad_config;
    }
    // Before anything opens descriptors, and before the checks size themselves to the limit.
    vigil::raise_descriptor_limit();
    auto log = std::make_unique<vigil::event_log>(
        vigil::make_fd_sink(STDERR_FILENO, ::isatty(STDERR_FILENO) ? vigil::log_format::text
                                                                   : vigil::log_format::json));
    vigil::daemon daemon(file, std::move(*result.config), std::move(log));
    return daemon.run();
}

// The socket to talk to: --socket, else the one the config names, else the default.
std::string socket_path(const po::variables_map& values) {
    if (values.count("socket")) {
        return values["socket"].as<std::string>();
    }
    auto file = values["config"].as<std::string>();
    if (::access(file.c_str(), R_OK) == 0) {
        auto result = vigil::config::load_configuration(file);
        if (result.config) {
            return result.config->global.control_socket;
        }
    }
    return default_socket;
}

// Sends one request to the running daemon; prints an error and returns nothing if it failed.
std::optional<boost::json::object> ask_daemon(
    const char* name, const po::variables_map& values, const boost::json::object& request,
    std::chrono::seconds timeout = std::chrono::seconds(5)) {
    auto reply = vigil::control_request(socket_path(values), request, timeout);
    if (!reply.reply) {
        std::cerr << "vigil " << name << ": " << reply.error << "\n";
        return std::nullopt;
    }
    if (const auto* error = reply.reply->if_contains("error")) {
        std::cerr << "vigil " << name << ": " << std::string(error->as_string()) << "\n";
        return std::nullopt;
    }
    return reply.reply;
}

void add_socket_options(po::options_description& options) {
    options.add_options()("socket,s", po::value<std::string>(),
                          "control socket (default: the config's, else /run/vigil/vigil.sock)")(
        "config,c", po::value<std::string>()->default_value(default_config),
        "configuration naming the control socket");
}

int run_status(const std::vector<std::string>& args) {
    po::options_description options("Shows the running daemon's state");
    options.add_options()("json", "print the JSON document (schema: src/status.schema.json)");
    add_socket_options(options);
    po::variables_map values;
    if (int status =
            parse_options("status", "[--json] [-s SOCKET | -c FILE]", options, args, values);
        status >= 0) {
        return status;
    }
    boost::json::object request;
    request["command"] = "status";
    auto reply = ask_daemon("status", values, request);
    if (!reply) {
        return exit_failure;
    }
    if (values.count("json")) {
        std::cout << boost::json::serialize(*reply) << "\n";
    } else {
        std::cout << vigil::render_status_text(*reply);
    }
    return 0;
}

int run_reload(const std::vector<std::string>& args) {
    po::options_description options(
        "Makes the running daemon re-read its configuration (as SIGHUP does) and says whether it "
        "was applied; a config with errors is refused and the running one stays");
    add_socket_options(options);
    options.add_options()("allow-empty",
                          "apply a config that removes every VRRP instance or every virtual "
                          "server (refused otherwise, as a likely mistake)");
    po::variables_map values;
    if (int status =
            parse_options("reload", "[--allow-empty] [-s SOCKET | -c FILE]", options, args, values);
        status >= 0) {
        return status;
    }
    boost::json::object request;
    request["command"] = "reload";
    if (values.count("allow-empty")) {
        request["allow_empty"] = true;
    }
    // Validating a large config takes the daemon a while; the answer waits for it.
    auto reply = ask_daemon("reload", values, request, std::chrono::seconds(120));
    if (!reply) {
        return exit_failure;
    }
    if (reply->at("reloaded").as_bool()) {
        std::cout << "reloaded\n";
        return 0;
    }
    for (const auto& error : reply->at("errors").as_array()) {
        std::cerr << std::string(error.as_string()) << "\n";
    }
    return exit_bad_config;
}

// Asks the running daemon what reloading FILE would do. Exit 0 nothing changes, 3 something would,
// 2 invalid, 1 no daemon.
int run_plan(const std::vector<std::string>& args) {
    po::options_description options(
        "Asks the running daemon what a reload of FILE would do, without doing it: IPVS\n"
        "operations, VRRP instances added, removed, changed in place or restarted (and whether a\n"
        "master resigns), checks added, removed or changed.\n"
        "Exit 0 nothing would change, 3 something would, 2 invalid (errors on stderr), 1 no\n"
        "daemon");
    options.add_options()("json", "print the daemon's answer as JSON");
    add_socket_options(options);
    po::variables_map values;
    if (int status = parse_options("plan", "[--json] [-c FILE] [-s SOCKET]", options, args, values);
        status >= 0) {
        return status;
    }
    constexpr int exit_would_change = 3;
    boost::json::object request;
    request["command"] = "plan";
    std::error_code ec;
    auto file = std::filesystem::absolute(values["config"].as<std::string>(), ec);
    request["file"] = ec ? values["config"].as<std::string>() : file.lexically_normal().string();
    auto reply = ask_daemon("plan", values, request, std::chrono::seconds(120));
    if (!reply) {
        return exit_failure;
    }
    if (!reply->at("valid").as_bool()) {
        for (const auto& error : reply->at("errors").as_array()) {
            std::cerr << std::string(error.as_string()) << "\n";
        }
        return exit_bad_config;
    }
    if (values.count("json")) {
        std::cout << boost::json::serialize(*reply) << "\n";
    } else {
        std::cout << vigil::render_plan_text(*reply);
    }
    return reply->at("changes").as_bool() ? exit_would_change : 0;
}

// Checks this host against the config: one line per finding with its fix. Exit 0 clean, 1 findings,
// 2 invalid config.
int run_doctor(const std::vector<std::string>& args) {
    po::options_description options(
        "Checks this host against the configuration: IPVS modules and schedulers, forwarding\n"
        "and ARP sysctls, interfaces, VIPs configured elsewhere, folder permissions. Prints\n"
        "'warning: ... \u2014 fix: ...' per finding. Exit 0 clean, 1 findings, 2 invalid config");
    std::string file;
    options.add_options()("config,c", po::value(&file)->default_value(default_config),
                          "main configuration file");
    po::variables_map values;
    if (int status = parse_options("doctor", "[-c FILE]", options, args, values); status >= 0) {
        return status;
    }
    auto result = load_or_report(file);
    if (!result.config) {
        return exit_bad_config;
    }
    namespace doctor = vigil::doctor;
    auto facts = doctor::gather_host_facts(doctor::facts_needed(*result.config));
    auto findings = doctor::diagnose(*result.config, facts);
    for (const auto& f : findings) {
        std::cout << doctor::to_string(f) << "\n";
    }
    if (findings.empty()) {
        std::cout << file << ": no findings\n";
        return 0;
    }
    return exit_failure;
}

// drain / undrain VS RS: the real server is named by its virtual server and its address:port.
int run_drain(const std::vector<std::string>& args, bool drain) {
    const char* name = drain ? "drain" : "undrain";
    po::options_description options(
        drain ? "Takes a real server out of rotation gracefully: IPVS weight 0, established "
                "connections finish. Kept across reloads and restarts until undrained"
              : "Puts a drained real server back into rotation");
    std::vector<std::string> positional;
    options.add_options()("target", po::value(&positional)->multitoken(),
                          "VIRTUAL_SERVER REAL_SERVER");
    add_socket_options(options);
    po::variables_map values;
    po::positional_options_description where;
    where.add("target", -1);
    options.add_options()("help,h", "show this help");
    try {
        po::store(po::command_line_parser(args).options(options).positional(where).run(), values);
        po::notify(values);
    } catch (const po::error& e) {
        std::cerr << "vigil " << name << ": " << e.what() << "\n";
        return exit_usage;
    }
    if (values.count("help")) {
        std::cout << "Usage: vigil " << name << " VIRTUAL_SERVER [REAL_SERVER] [-s SOCKET]\n"
                  << "  e.g. vigil " << name << " web 192.168.1.101:80\n"
                  << "  vigil " << name << " web: the virtual server's BGP announcement\n\n"
                  << options;
        return 0;
    }
    // One operand: a whole virtual server announced over BGP (its prefix is withdrawn).
    if (positional.size() != 2 && positional.size() != 1) {
        std::cerr << "vigil " << name
                  << ": give the virtual server and the real server's "
                     "address:port (or an announced virtual server alone)\n";
        return exit_usage;
    }
    boost::json::object request;
    request["command"] = name;
    request["real_server"] =
        positional.size() == 1 ? positional[0] : positional[0] + "/" + positional[1];
    auto reply = ask_daemon(name, values, request);
    if (!reply) {
        return exit_failure;
    }
    std::cout << std::string(reply->at("real_server").as_string())
              << (drain ? " drained" : " undrained")
              << (reply->at("changed").as_bool() ? "" : " (already)") << "\n";
    return 0;
}

// drain-node / undrain-node: every BGP announcement of this director withdrawn (or back).
// drain-node returns once drain_wait has passed, so `vigil drain-node && systemctl stop vigil`
// stops a node the routers already route around.
int run_drain_node(const std::vector<std::string>& args, bool drain) {
    const char* name = drain ? "drain-node" : "undrain-node";
    po::options_description options(
        drain ? "Withdraws every BGP announcement of this director, then waits global.bgp."
                "drain_wait for the routers to converge (not kept across restarts)"
              : "Announces this director's prefixes again (each as its health allows)");
    add_socket_options(options);
    options.add_options()("no-wait", "return at once, without waiting drain_wait");
    options.add_options()("help,h", "show this help");
    po::variables_map values;
    try {
        po::store(po::command_line_parser(args).options(options).run(), values);
        po::notify(values);
    } catch (const po::error& e) {
        std::cerr << "vigil " << name << ": " << e.what() << "\n";
        return exit_usage;
    }
    if (values.count("help")) {
        std::cout << "Usage: vigil " << name << " [-s SOCKET | -c FILE]\n\n" << options;
        return 0;
    }
    boost::json::object request;
    request["command"] = drain ? "drain_node" : "undrain_node";
    auto reply = ask_daemon(name, values, request);
    if (!reply) {
        return exit_failure;
    }
    auto wait = std::chrono::milliseconds(reply->at("drain_wait_ms").to_number<std::int64_t>());
    if (drain && !values.count("no-wait") && wait.count() > 0) {
        std::cout << "withdrawn; waiting " << wait.count() << " ms for the routers\n" << std::flush;
        std::this_thread::sleep_for(wait);
    }
    std::cout << (drain ? "node drained" : "node undrained") << "\n";
    return 0;
}

int run_version(const std::vector<std::string>& args) {
    po::options_description options("Prints the version");
    po::variables_map values;
    if (int status = parse_options("version", "", options, args, values); status >= 0) {
        return status;
    }
    std::cout << "vigil " << vigil::version << "\n";
    return 0;
}

// Like keepalived's genhash: one request, and what a check needs to expect it (status, digest).
int run_probe(const std::vector<std::string>& args) {
    po::options_description options(
        "Performs one HTTP(S) GET and prints the status, body length and the MD5 and SHA-256\n"
        "digests to put in a check's body_digest. Exit 0 when a response arrived, 1 otherwise.\n"
        "Other URLs run one check and print its verdict (exit 0 passed, 1 failed):\n"
        "  tcp://ADDR:PORT  udp://ADDR:PORT?send=TEXT&expect=TEXT  icmp://ADDR\n"
        "  dns://ADDR[:PORT]/NAME?type=A&rcode=NOERROR&answer=DATA&transport=tcp\n"
        "  smtp://ADDR[:PORT]?helo=NAME&starttls&sni=NAME  grpc://ADDR:PORT[/SERVICE]\n"
        "  grpcs://...?sni=NAME  (--ca-file and -k apply to grpcs and smtp with starttls)");
    std::string url;
    std::string connect;
    std::string host;
    std::string ca_file;
    std::string timeout = "5s";
    std::string http_version = "1.1";
    std::string bind;
    std::size_t limit = 64 * 1024;
    options.add_options()("connect", po::value(&connect),
                          "ADDRESS:PORT to connect to instead of the URL's host (names stay)")(
        "host", po::value(&host), "Host header")("ca-file", po::value(&ca_file),
                                                 "CA bundle to verify the server against")(
        "insecure,k", "do not verify the server's certificate")("head", "send HEAD, not GET")(
        "http-version", po::value(&http_version)->default_value(http_version),
        "1.0 or 1.1: the request's HTTP version (as a check's http_version)")(
        "bind", po::value(&bind),
        "ADDRESS to connect from (as a check's bind; http, https and tcp)")(
        "timeout", po::value(&timeout)->default_value(timeout), "give up after this long")(
        "body-limit", po::value(&limit)->default_value(limit),
        "bytes of body read and digested, as a check does");
    po::variables_map values;
    if (int status = parse_options("probe", "URL [options]", options, args, values, &url);
        status >= 0) {
        return status;
    }
    if (url.empty()) {
        std::cerr << "vigil probe: a URL is required\nTry 'vigil probe --help'.\n";
        return exit_usage;
    }
    auto limit_time = vigil::parse_duration(timeout);
    if (!limit_time || limit_time->count() == 0) {
        std::cerr << "vigil probe: --timeout: "
                  << (limit_time ? std::string("must be above zero") : limit_time.error()) << "\n";
        return exit_usage;
    }
    if (http_version != "1.0" && http_version != "1.1") {
        std::cerr << "vigil probe: --http-version: \"" << http_version << "\" is not 1.0 or 1.1\n";
        return exit_usage;
    }
    std::optional<vigil::ip_address> source;
    if (!bind.empty()) {
        auto address = vigil::parse_address(bind);
        if (!address) {
            std::cerr << "vigil probe: --bind: " << address.error() << "\n";
            return exit_usage;
        }
        source = *address;
    }
    bool http_url = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
    if (!http_url && values.count("http-version") && !values["http-version"].defaulted()) {
        std::cerr << "vigil probe: --http-version applies to http and https URLs\n";
        return exit_usage;
    }
    if (!http_url) {
        // Every other check type: what a check with these options would judge, once.
        auto check = vigil::checkers::parse_check_url(url);
        if (!check) {
            std::cerr << "vigil probe: " << url << " " << check.error() << "\n";
            return exit_usage;
        }
        auto spec = *check;
        if (source) {
            if (spec.type != vigil::checkers::check_type::tcp) {
                std::cerr << "vigil probe: --bind applies to http, https and tcp URLs\n";
                return exit_usage;
            }
            if (source->is_v6() != spec.target.address.is_v6()) {
                std::cerr << "vigil probe: --bind: " << bind << " is not of the family of "
                          << vigil::to_string(spec.target) << "\n";
                return exit_usage;
            }
            spec.check.bind = source;
        }
        if (!ca_file.empty()) {
            spec.check.grpc.ca_file = spec.check.smtp.ca_file = ca_file;
        }
        spec.check.grpc.tls_verify = spec.check.smtp.tls_verify = values.count("insecure") == 0;
        auto verdict = vigil::checkers::run_check_once(
            spec, std::chrono::duration_cast<std::chrono::milliseconds>(*limit_time));
        std::cout << "URL:       " << url << "\n"
                  << "check:     " << vigil::checkers::to_string(spec.type) << " "
                  << (spec.type == vigil::checkers::check_type::icmp
                          ? spec.target.address.to_string()
                          : vigil::to_string(spec.target))
                  << "\n"
                  << "result:    " << (verdict.success ? "up" : "down: " + verdict.reason) << "\n"
                  << "time:      " << verdict.latency.count() << " ms\n";
        return verdict.success ? 0 : exit_failure;
    }
    vigil::checkers::probe_once_options o;
    if (!connect.empty()) {
        auto endpoint = vigil::parse_endpoint(connect);
        if (!endpoint) {
            std::cerr << "vigil probe: --connect: " << endpoint.error() << "\n";
            return exit_usage;
        }
        o.connect = *endpoint;
    }
    if (!host.empty()) {
        o.host = host;
    }
    if (!ca_file.empty()) {
        o.ca_file = ca_file;
    }
    o.timeout = *limit_time;
    o.insecure = values.count("insecure") > 0;
    o.method = values.count("head") ? vigil::checkers::http_method::head
                                    : vigil::checkers::http_method::get;
    o.body_limit = std::max<std::size_t>(limit, 1);
    o.version = http_version == "1.0" ? vigil::checkers::http_version::http_1_0
                                      : vigil::checkers::http_version::http_1_1;
    o.bind = source;
    auto report = vigil::checkers::probe_once(url, o);
    if (!report.ok) {
        std::cerr << "vigil probe: " << url << ": " << report.error << "\n";
        return exit_failure;
    }
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", report.seconds);
    std::cout << "URL:       " << url << "\n"
              << "status:    " << report.status << "\n"
              << "body:      " << report.body_length << " bytes"
              << (report.truncated ? " (cut at --body-limit; a digest check would fail)" : "")
              << "\n"
              << "md5:       " << report.md5 << "\n"
              << "sha256:    " << report.sha256 << "\n"
              << "time:      " << seconds << " s\n";
    return 0;
}

// keepalived.conf -> vigil.toml + conf.d/: every keyword that did not translate is a warning.
int run_import_keepalived(const std::vector<std::string>& args) {
    po::options_description options(
        "Translates a keepalived.conf into DIR/vigil.toml and one DIR/conf.d/<name>.toml per\n"
        "virtual server. Prints FILE:LINE: warning: ... for every keyword not translated.\n"
        "Exit 0 all translated, 1 with warnings (or when writing failed), 2 unreadable or\n"
        "malformed input");
    std::string input;
    std::string output;
    std::string config_id;
    options.add_options()("output,o", po::value(&output), "folder to write (DIR)")(
        "force", "write into a folder that is not empty (its conf.d/*.toml are replaced)")(
        "config-id", po::value(&config_id), "keep keepalived's '@ID' lines for this id (-i ID)");
    po::variables_map values;
    if (int status = parse_options("import-keepalived", "FILE -o DIR [--force]", options, args,
                                   values, &input);
        status >= 0) {
        return status;
    }
    if (input.empty() || output.empty()) {
        std::cerr << "vigil import-keepalived: give the keepalived.conf and -o DIR\n"
                     "Try 'vigil import-keepalived --help'.\n";
        return exit_usage;
    }
    std::string error;
    auto text = vigil::import::read_text_file(input, error);
    if (!text) {
        std::cerr << input << ": error: " << error << "\n";
        return exit_bad_config;
    }
    vigil::import::file_include_resolver resolver;
    vigil::import::parse_options parse;
    if (values.count("config-id")) {
        parse.config_id = config_id;
    }
    auto parsed = vigil::import::parse_keepalived(*text, input, resolver, parse);
    for (const auto& warning : parsed.warnings) {
        std::cerr << vigil::import::to_string(warning) << "\n";
    }
    if (parsed.error) {
        std::cerr << vigil::import::to_string(*parsed.error) << "\n";
        return exit_bad_config;
    }
    const char* path = std::getenv("PATH");
    std::string path_list =
        path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    vigil::import::translate_options translate;
    translate.source = input;
    translate.find_program = [&](std::string_view program) {
        return vigil::import::find_in_path(program, path_list);
    };
    auto result = vigil::import::translate_keepalived(parsed.statements, translate);
    for (const auto& warning : result.warnings) {
        std::cerr << vigil::import::to_string(warning) << "\n";
    }
    if (auto failed =
            vigil::import::write_output_folder(output, result.files, values.count("force") > 0);
        !failed.empty()) {
        std::cerr << "vigil import-keepalived: " << failed << "\n";
        return exit_failure;
    }
    auto warnings = parsed.warnings.size() + result.warnings.size();
    if (result.empty()) {
        std::cerr << input
                  << ": warning: nothing vigil can run was translated (no VRRP instance, no "
                     "virtual server); "
                  << output << "/vigil.toml holds [global] only\n";
        ++warnings;
    }
    std::cout << "wrote " << output << "/vigil.toml"
              << (result.virtual_servers ? " and conf.d/" : "") << ": "
              << vigil::count_summary(result.vrrp_instances, result.virtual_servers,
                                      result.real_servers)
              << "; " << warnings << (warnings == 1 ? " warning" : " warnings") << "\n";
    return warnings > 0 ? exit_failure : 0;
}

const std::map<std::string, command>& commands() {
    static const std::map<std::string, command> table{
        {"check", {"validate a configuration", run_check}},
        {"run", {"run the daemon in the foreground", run_daemon}},
        {"probe", {"fetch a URL once and print its status and digests", run_probe}},
        {"status", {"show the running daemon's state", run_status}},
        {"reload", {"make the daemon re-read its configuration", run_reload}},
        {"drain",
         {"take a real server out of rotation gracefully",
          [](const std::vector<std::string>& a) { return run_drain(a, true); }}},
        {"undrain",
         {"put a drained real server back",
          [](const std::vector<std::string>& a) { return run_drain(a, false); }}},
        {"drain-node",
         {"withdraw every BGP announcement, then wait drain_wait",
          [](const std::vector<std::string>& a) { return run_drain_node(a, true); }}},
        {"undrain-node",
         {"announce this director's prefixes again",
          [](const std::vector<std::string>& a) { return run_drain_node(a, false); }}},
        {"version", {"print the version", run_version}},
        {"doctor", {"check this host against a configuration", run_doctor}},
        {"plan", {"show what a reload of a configuration would do", run_plan}},
        {"import-keepalived",
         {"translate a keepalived.conf into vigil's configuration", run_import_keepalived}},
    };
    return table;
}

void print_usage(std::ostream& out) {
    out << "Usage: vigil COMMAND [OPTIONS]\n\n"
           "VRRP and health-check supervisor for Linux Virtual Server directors.\n\nCommands:\n";
    for (const auto& [name, cmd] : commands()) {
        out << "  " << name << std::string(name.size() < 10 ? 10 - name.size() : 1, ' ')
            << cmd.summary << "\n";
    }
    out << "\nRun 'vigil COMMAND --help' for a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        print_usage(std::cerr);
        return exit_usage;
    }
    auto name = args.front();
    args.erase(args.begin());
    if (name == "--help" || name == "-h" || name == "help") {
        print_usage(std::cout);
        return 0;
    }
    if (name == "--version") {
        name = "version";
    }
    auto found = commands().find(name);
    if (found == commands().end()) {
        std::cerr << "vigil: unknown command '" << name << "'\n";
        print_usage(std::cerr);
        return exit_usage;
    }
    try {
        return found->second.run(args);
    } catch (const std::exception& e) {
        std::cerr << "vigil " << name << ": " << e.what() << "\n";
        return exit_failure;
    }
}
