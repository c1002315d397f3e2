#!/usr/bin/python3
"""vigil import-keepalived run for real: Debian's keepalived samples translate into configs that
`vigil check` accepts, a few of them compared field by field with what the sample means, and the
command's exit statuses."""

import glob
import os
import subprocess
import sys
import tempfile
import tomllib
import unittest

VIGIL = sys.argv[1]
SOURCE = sys.argv[2]
SAMPLES = "/usr/share/doc/keepalived/samples"


def vigil(*args, cwd=None):
    return subprocess.run([VIGIL, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def samples():
    return sorted(glob.glob(os.path.join(SAMPLES, "keepalived.conf*")))


class samples_import(unittest.TestCase):
    def setUp(self):
        if not samples():
            self.skipTest("keepalived's samples are not installed")
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def load(self, name):
        """Imports one sample; returns (result, main table, {conf.d name: table})."""
        out = os.path.join(self.tmp.name, name)
        result = vigil("import-keepalived", os.path.join(SAMPLES, name), "-o", out)
        with open(os.path.join(out, "vigil.toml"), "rb") as f:
            main = tomllib.load(f)
        servers = {}
        for path in sorted(glob.glob(os.path.join(out, "conf.d", "*.toml"))):
            with open(path, "rb") as f:
                servers[os.path.basename(path)] = tomllib.load(f)["virtual_server"]
        return result, main, servers

    def test_every_sample_imports_and_passes_vigil_check(self):
        for path in samples():
            name = os.path.basename(path)
            with self.subTest(sample=name):
                out = os.path.join(self.tmp.name, name)
                result = vigil("import-keepalived", path, "-o", out)
                # Never a signal (negative), never a parse failure on a real sample.
                self.assertIn(result.returncode, (0, 1), result.stderr)
                for line in result.stderr.splitlines():
                    self.assertRegex(line, r"^\S+(:\d+)?: warning: ")
                self.assertTrue(result.stdout.startswith("wrote "), result.stdout)
                if "nothing vigil can run was translated" in result.stderr:
                    self.assertIn("0 VRRP instances, 0 virtual servers", result.stdout)
                check = vigil("check", "-c", os.path.join(out, "vigil.toml"))
                self.assertEqual(check.returncode, 0, check.stderr)

    def test_vrrp_sample_field_by_field(self):
        result, main, servers = self.load("keepalived.conf.vrrp")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(main["global"]["node"], "LVS_DEVEL")
        self.assertEqual(servers, {})
        instances = {i["name"]: i for i in main["vrrp_instance"]}
        self.assertEqual(sorted(instances), ["VI_1", "VI_2", "VI_3", "VI_4"])
        vi1 = instances["VI_1"]
        self.assertEqual(vi1["interface"], "eth0")
        self.assertEqual(vi1["virtual_router_id"], 51)
        self.assertEqual(vi1["priority"], 100)
        self.assertEqual(vi1["version"], 2)
        self.assertEqual(vi1["advert_interval"], "1s")
        self.assertEqual(vi1["garp_master_delay"], "10s")
        self.assertEqual(vi1["auth_pass"], "1111")
        # 192.168.200.18 is listed twice (once with a label): one VIP, the label warned.
        self.assertEqual(vi1["virtual_ipaddress"],
                         ["192.168.200.16/32", "192.168.200.17/32", "192.168.200.18/32"])
        self.assertIn("label eth0:1 is not translated", result.stderr)
        vi2 = instances["VI_2"]
        self.assertEqual((vi2["interface"], vi2["virtual_router_id"], vi2["priority"]),
                         ("eth0", 50, 50))
        self.assertNotIn("auth_pass", vi2)
        self.assertEqual(instances["VI_3"]["interface"], "eth1")
        self.assertEqual(instances["VI_4"]["virtual_ipaddress"],
                         ["192.168.201.16/32", "192.168.201.17/32", "192.168.201.18/32"])
        self.assertEqual(result.stderr.count("'smtp_alert' is not translated"), 4)

    def test_http_get_port_sample_field_by_field(self):
        result, main, servers = self.load("keepalived.conf.HTTP_GET.port")
        self.assertEqual(main["global"]["include"], ["conf.d/*.toml"])
        self.assertEqual(list(servers), ["192.168.200.100-443.toml"])
        vs = servers["192.168.200.100-443.toml"]
        self.assertEqual(vs["address"], "192.168.200.100:443")
        self.assertEqual(vs["protocol"], "tcp")
        self.assertEqual(vs["scheduler"], "rr")
        self.assertEqual(vs["forwarding"], "nat")
        self.assertEqual(vs["persistence_timeout"], "50s")
        [rs] = vs["real_server"]
        self.assertEqual(rs["address"], "192.168.201.100:443")
        self.assertEqual(rs["weight"], 1)
        # SSL_GET on connect_port 444: https to the real server's port 444, no verification
        # (SSL_GET verifies nothing), delay_loop 6, connect_timeout 3, retry 3 -> 4 failures.
        check = rs["check"]
        self.assertEqual(check["type"], "https")
        self.assertEqual(check["connect"], "192.168.201.100:444")
        self.assertEqual(check["path"], "/")
        self.assertEqual(check["body_digest"], "md5:ff20ad2481f97b1754ef3e12ecd3a9cc")
        self.assertEqual(check["interval"], "6s")
        self.assertEqual(check["timeout"], "3s")
        self.assertEqual(check["fall"], 4)
        self.assertEqual(check["rise"], 1)
        self.assertEqual(check["recheck_interval"], "3s")
        self.assertIs(check["tls_verify"], False)

    def test_ssl_get_sample_keeps_every_url(self):
        # Each HTTP_GET / SSL_GET there has two url blocks: one check fetches both, each with
        # its own digest, and nothing about the second url is warned away.
        result, main, servers = self.load("keepalived.conf.SSL_GET")
        self.assertNotIn("url", result.stderr)
        for name, kind in (("192.168.200.100-443.toml", "https"),
                           ("192.168.200.100-80.toml", "http")):
            with self.subTest(server=name):
                check = servers[name]["check"]
                self.assertEqual(check["type"], kind)
                self.assertNotIn("path", check)
                self.assertEqual(check["urls"], [
                    {"path": "/", "body_digest": "md5:ff20ad2481f97b1754ef3e12ecd3a9cc"},
                    {"path": "/mrtg/", "body_digest": "md5:9b3a0c85a887a256d6939da88aabd8cd"},
                ])

    def test_misc_check_sample_field_by_field(self):
        result, main, servers = self.load("keepalived.conf.misc_check")
        vs = servers["10.10.10.2-1358.toml"]
        self.assertEqual(vs["address"], "10.10.10.2:1358")
        self.assertEqual((vs["scheduler"], vs["forwarding"]), ("rr", "nat"))
        self.assertEqual(vs["persistence_timeout"], "50s")
        [rs] = vs["real_server"]
        self.assertEqual(rs["address"], "192.168.200.6:1358")
        check = vs["check"]  # the only real server's check reads as the virtual server's
        self.assertEqual(check["type"], "script")
        self.assertEqual(check["command"], ["/usr/local/bin/script.sh"])
        self.assertEqual(check["interval"], "6s")
        self.assertEqual(check["timeout"], "6s")  # misc_timeout defaults to delay_loop
        self.assertEqual(check["fall"], 1)  # MISC_CHECK retries 0 times by default
        self.assertNotIn("dynamic_weight", check)  # "!  misc_dynamic" is a comment

    def test_misc_check_arg_sample_keeps_the_arguments(self):
        result, main, servers = self.load("keepalived.conf.misc_check_arg")
        commands = [vs.get("check", {}).get("command") or rs["check"]["command"]
                    for vs in servers.values() for rs in vs["real_server"]]
        self.assertTrue(all(len(c) > 1 for c in commands), commands)


class command_line(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_usage_errors_exit_64(self):
        self.assertEqual(vigil("import-keepalived").returncode, 64)
        self.assertEqual(vigil("import-keepalived", "x.conf").returncode, 64)
        self.assertEqual(vigil("import-keepalived", "--bogus").returncode, 64)
        self.assertEqual(vigil("import-keepalived", "--help").returncode, 0)

    def test_unreadable_input_exits_2(self):
        result = vigil("import-keepalived", os.path.join(self.dir, "none.conf"), "-o",
                       os.path.join(self.dir, "out"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("none.conf: error:", result.stderr)

    def test_unclosed_block_exits_2_with_its_line(self):
        conf = self.write("k.conf", "global_defs {\n}\nvrrp_instance VI_1 {\n  priority 1\n")
        result = vigil("import-keepalived", conf, "-o", os.path.join(self.dir, "out"))
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr, conf + ":3: error: block opened here is never closed\n")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out")))

    def test_complete_translation_exits_0_and_includes_are_followed(self):
        conf = self.write("keepalived/keepalived.conf",
                          "global_defs {\n  router_id lb1\n}\ninclude conf.d/*.conf\n")
        self.write("keepalived/conf.d/10-vrrp.conf",
                   "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n"
                   " priority 150\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n")
        self.write("keepalived/conf.d/20-web.conf",
                   "virtual_server 10.0.0.100 80 {\n delay_loop 5\n lb_algo wrr\n"
                   " lb_kind DR\n protocol TCP\n"
                   " real_server 10.0.0.11 80 { weight 2\n  TCP_CHECK { connect_timeout 2 } }\n"
                   " real_server 10.0.0.12 80 { weight 1\n  TCP_CHECK { connect_timeout 2 } }\n"
                   "}\n")
        out = os.path.join(self.dir, "out")
        result = vigil("import-keepalived", conf, "-o", out)
        self.assertEqual(result.stderr, "")
        self.assertEqual(result.returncode, 0)
        self.assertIn("1 VRRP instance, 1 virtual server, 2 real servers; 0 warnings",
                      result.stdout)
        check = vigil("check", "-c", os.path.join(out, "vigil.toml"))
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("OK: 1 VRRP instance, 1 virtual server, 2 real servers", check.stdout)

    def test_non_empty_output_is_refused_without_force(self):
        conf = self.write("k.conf", "global_defs {\n router_id lb1\n}\n")
        out = os.path.join(self.dir, "out")
        self.write("out/keep.txt", "mine\n")
        result = vigil("import-keepalived", conf, "-o", out)
        self.assertEqual(result.returncode, 1)
        self.assertIn("not empty", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "vigil.toml")))
        result = vigil("import-keepalived", conf, "-o", out, "--force")
        self.assertIn("nothing vigil can run was translated", result.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "vigil.toml")))

    def test_warnings_name_file_and_line(self):
        conf = self.write("k.conf", "global_defs {\n  enable_script_security\n}\n"
                                    "future_block {\n  x 1\n}\n")
        result = vigil("import-keepalived", conf, "-o", os.path.join(self.dir, "out"))
        self.assertEqual(result.returncode, 1)
        lines = result.stderr.splitlines()
        self.assertIn(conf + ":2: warning: 'enable_script_security' is not translated", lines)
        self.assertIn(conf + ":4: warning: 'future_block' block is not translated: unknown "
                             "block, skipped whole", lines)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
