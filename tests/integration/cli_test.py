#!/usr/bin/python3
"""The vigil binary's command line, run for real: exit statuses, output, help for every command."""

import os
import subprocess
import sys
import tempfile
import unittest

VIGIL = sys.argv[1]
SOURCE = sys.argv[2]


def vigil(*args, cwd=None):
    return subprocess.run([VIGIL, *args], capture_output=True, text=True, timeout=30, cwd=cwd)


class check_command(unittest.TestCase):
    def test_valid_example_prints_one_summary_line_and_exits_0(self):
        result = vigil("check", "-c", os.path.join(SOURCE, "etc/vigil/vigil.toml"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 1)
        self.assertIn("OK: 1 VRRP instance, 2 virtual servers, 4 real servers", lines[0])

    def test_every_good_config_passes(self):
        good = os.path.join(SOURCE, "tests/config/good")
        for name in sorted(os.listdir(good)):
            with self.subTest(config=name):
                result = vigil("check", "-c", os.path.join(good, name, "vigil.toml"))
                self.assertEqual(result.returncode, 0, result.stderr)

    def test_invalid_config_exits_2_with_one_located_line_per_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "vigil.toml"), "w") as f:
                f.write('[[vrrp_instance]]\nname = "a"\ninterface = "eth0"\n'
                        'virtual_router_id = 0\npriority = 0\nvirtual_ipaddress = ["10.0.0.1"]\n')
            result = vigil("check", "-c", "vigil.toml", cwd=tmp)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.splitlines(), [
            "vigil.toml:4:21: error: vrrp_instance[0].virtual_router_id: 0 is out of range (1 to 255)",
            "vigil.toml:5:12: error: vrrp_instance[0].priority: 0 is out of range (1 to 255)",
        ])

    def test_bad_configs_exit_2_and_name_their_location(self):
        bad = os.path.join(SOURCE, "tests/config/bad")
        for name in sorted(f for f in os.listdir(bad) if f.endswith(".toml")):
            with self.subTest(config=name):
                result = vigil("check", "-c", os.path.join(bad, name))
                self.assertEqual(result.returncode, 2)
                for line in result.stderr.splitlines():
                    self.assertRegex(line, r"^\S+\.toml:\d+:\d+: error: ")

    def test_missing_main_file_is_an_error_not_a_crash(self):
        result = vigil("check", "-c", "/nonexistent/vigil.toml")
        self.assertEqual(result.returncode, 2)
        self.assertIn("/nonexistent/vigil.toml:1:1: error: cannot read", result.stderr)


class usage(unittest.TestCase):
    def test_every_command_has_help(self):
        for command in ["check", "run", "status", "reload", "drain", "undrain", "probe", "version"]:
            with self.subTest(command=command):
                result = vigil(command, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("Usage: vigil " + command, result.stdout)

    def test_top_level_help_lists_commands(self):
        result = vigil("--help")
        self.assertEqual(result.returncode, 0)
        for command in ["check", "run", "status", "version"]:
            self.assertIn(command, result.stdout)

    def test_version(self):
        result = vigil("version")
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"^vigil \d+\.\d+\.\d+\n$")

    def test_unknown_command_and_option_are_usage_errors(self):
        self.assertEqual(vigil("frobnicate").returncode, 64)
        self.assertEqual(vigil("check", "--frobnicate").returncode, 64)
        self.assertEqual(vigil().returncode, 64)


class install(unittest.TestCase):
    def test_cmake_install_lays_out_binary_unit_and_config(self):
        build = os.path.dirname(os.path.dirname(os.path.abspath(VIGIL)))
        with tempfile.TemporaryDirectory() as prefix:
            result = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            for path in ["sbin/vigil", "lib/systemd/system/vigil.service", "etc/vigil/vigil.toml",
                         "etc/vigil/conf.d/web.toml", "share/doc/vigil/examples/vigil.toml"]:
                self.assertTrue(os.path.exists(os.path.join(prefix, path)), path)
            unit = open(os.path.join(prefix, "lib/systemd/system/vigil.service")).read()
            self.assertIn("Type=notify", unit)
            self.assertIn("WatchdogSec=", unit)
            self.assertRegex(unit, r"ExecReload=\S+/vigil reload")
            # An operator's configuration is never overwritten by a later install.
            with open(os.path.join(prefix, "etc/vigil/vigil.toml"), "a") as f:
                f.write("# edited\n")
            subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True,
                           capture_output=True, timeout=60)
            self.assertTrue(open(os.path.join(prefix, "etc/vigil/vigil.toml")).read()
                            .endswith("# edited\n"))

    def test_install_to_usr_puts_the_config_in_etc_once_under_destdir(self):
        # Prefix /usr means /etc/vigil (where the unit looks), not /usr/etc/vigil; DESTDIR is put
        # in front of it exactly once.
        build = os.path.dirname(os.path.dirname(os.path.abspath(VIGIL)))
        with tempfile.TemporaryDirectory() as destdir:
            result = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"],
                                    env=dict(os.environ, DESTDIR=destdir),
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(os.path.isfile(os.path.join(destdir, "etc/vigil/vigil.toml")))
            self.assertTrue(os.path.isfile(os.path.join(destdir, "etc/vigil/conf.d/web.toml")))
            self.assertFalse(os.path.exists(os.path.join(destdir, "usr/etc")))
            self.assertTrue(os.path.isfile(os.path.join(destdir, "usr/sbin/vigil")))
            nested = os.path.join(destdir, destdir.lstrip("/"))
            self.assertFalse(os.path.exists(nested), "DESTDIR applied twice")



class probe_check_urls(unittest.TestCase):
    """vigil probe with the URLs of the other check types, against the checkers' test servers."""

    @classmethod
    def setUpClass(cls):
        import json
        here = os.path.join(SOURCE, "tests/integration/checkers")
        cls.tmp = tempfile.TemporaryDirectory()
        cls.servers = []
        cls.ports = {}
        # starttls_mta.py serves STARTTLS with the certificate grpc_health_server.py made (for
        # grpc.test, self-signed: it is its own CA).
        for argv in (["mail_servers.py"], ["grpc_health_server.py", cls.tmp.name],
                     ["starttls_mta.py", os.path.join(cls.tmp.name, "grpc.crt"),
                      os.path.join(cls.tmp.name, "grpc.key")]):
            process = subprocess.Popen(["/usr/bin/python3", os.path.join(here, argv[0]), *argv[1:]],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            cls.servers.append(process)
            cls.ports.update(json.loads(process.stdout.readline()))

    @classmethod
    def tearDownClass(cls):
        for process in cls.servers:
            process.stdin.close()
            process.terminate()
            process.wait()
            process.stdout.close()
        cls.tmp.cleanup()

    def test_smtp_url_prints_the_verdict_and_exits_0_up_1_down(self):
        up = vigil("probe", "smtp://127.0.0.1:%d?helo=lb1.test" % self.ports["helo_only"])
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
        self.assertIn("check:     smtp 127.0.0.1:%d" % self.ports["helo_only"], up.stdout)
        self.assertIn("result:    up", up.stdout)
        down = vigil("probe", "smtp://127.0.0.1:%d" % self.ports["refuse"])
        self.assertEqual(down.returncode, 1)
        self.assertIn("result:    down: SMTP greeting 554, expected 220: 5.3.2 no service here",
                      down.stdout)

    def test_smtp_starttls_url_verifies_with_ca_file_or_not_with_k(self):
        url = "smtp://127.0.0.1:%d?helo=lb1.test&starttls&sni=grpc.test" % self.ports["v4"]
        up = vigil("probe", url, "--ca-file", self.ports["ca"])
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
        self.assertIn("result:    up", up.stdout)
        unknown = vigil("probe", url)
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("result:    down: TLS verification failed: ", unknown.stdout)
        insecure = vigil("probe", url, "-k")
        self.assertEqual(insecure.returncode, 0, insecure.stdout + insecure.stderr)
        # A server that does not offer STARTTLS is down, though it passes in plaintext.
        plain = vigil("probe", "smtp://127.0.0.1:%d?starttls=true" % self.ports["helo_only"])
        self.assertEqual(plain.returncode, 1)
        self.assertIn("result:    down: SMTP STARTTLS not offered", plain.stdout)

    def test_grpc_urls_ask_the_health_service(self):
        up = vigil("probe", "grpc://127.0.0.1:%d/web" % self.ports["h2c"])
        self.assertEqual(up.returncode, 0, up.stdout + up.stderr)
        self.assertIn("result:    up", up.stdout)
        unknown = vigil("probe", "grpc://127.0.0.1:%d/nosuch" % self.ports["h2c"])
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("down: gRPC status NOT_FOUND: unknown service", unknown.stdout)
        tls = vigil("probe", "grpcs://127.0.0.1:%d?sni=grpc.test" % self.ports["tls"],
                    "--ca-file", self.ports["ca"])
        self.assertEqual(tls.returncode, 0, tls.stdout + tls.stderr)

    def test_tcp_url_to_a_closed_port_is_down(self):
        result = vigil("probe", "tcp://127.0.0.1:1", "--timeout", "2s")
        self.assertEqual(result.returncode, 1)
        self.assertIn("result:    down: connection refused", result.stdout)

    def test_a_bad_check_url_is_a_usage_error(self):
        for url, message in [("smtp://mail.example.org", "has address"),
                             ("ftp://127.0.0.1:21", "not http, https"),
                             ("tcp://127.0.0.1", "names no port"),
                             ("smtp://127.0.0.1?nosuch=1", "which smtp checks do not take"),
                             ("smtp://127.0.0.1?sni=mx.test", "take only with starttls"),
                             ("smtp://127.0.0.1?starttls=maybe", "is not true or false")]:
            with self.subTest(url=url):
                result = vigil("probe", url)
                self.assertEqual(result.returncode, 64)
                self.assertIn(message, result.stderr)

class probe_http_options(unittest.TestCase):
    """vigil probe --http-version and --bind, observed by a real HTTP server (Python's own)."""

    @classmethod
    def setUpClass(cls):
        import http.server
        import threading
        seen = cls.seen = []

        class handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.request_version, self.client_address[0]))
                body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cls.server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), handler)
        cls.url = "http://127.0.0.1:%d/health" % cls.server.server_address[1]
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.thread.join()

    def test_http_version_and_bind_reach_the_server(self):
        result = vigil("probe", self.url, "--http-version", "1.0", "--bind", "127.0.0.5")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("status:    200", result.stdout)
        self.assertEqual(self.seen[-1], ("HTTP/1.0", "127.0.0.5"))
        result = vigil("probe", self.url)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(self.seen[-1], ("HTTP/1.1", "127.0.0.1"))

    def test_bind_to_an_address_this_host_lacks_fails(self):
        result = vigil("probe", self.url, "--bind", "192.0.2.77", "--timeout", "2s")
        self.assertEqual(result.returncode, 1)
        self.assertIn("bind failed", result.stderr)
        tcp = "tcp://127.0.0.1:%d" % self.server.server_address[1]
        result = vigil("probe", tcp, "--bind", "192.0.2.77", "--timeout", "2s")
        self.assertEqual(result.returncode, 1)
        self.assertIn("down: bind to 192.0.2.77 failed: address not available on this host",
                      result.stdout)
        result = vigil("probe", tcp, "--bind", "127.0.0.6")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_bad_values_are_usage_errors(self):
        tcp = "tcp://127.0.0.1:%d" % self.server.server_address[1]
        for args, message in [(["--http-version", "2"], "is not 1.0 or 1.1"),
                              (["--bind", "localhost"], "--bind"),
                              (["--bind", "::1", "--url", tcp], "is not of the family"),
                              (["--bind", "127.0.0.1", "--url", "udp://127.0.0.1:9"],
                               "applies to http, https and tcp"),
                              (["--http-version", "1.0", "--url", tcp],
                               "applies to http and https")]:
            with self.subTest(args=args):
                if "--url" in args:
                    at = args.index("--url")
                    argv = [args[at + 1]] + args[:at]
                else:
                    argv = [self.url] + args
                result = vigil("probe", *argv)
                self.assertEqual(result.returncode, 64, result.stdout + result.stderr)
                self.assertIn(message, result.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
