#!/usr/bin/python3
"""vigil plan against a running daemon (what a reload would do, nothing applied) and vigil
doctor against hosts broken on purpose in network namespaces."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_test import health_server, localize, wait_for  # noqa: E402

VIGIL = sys.argv[1]
SOURCE = sys.argv[2]


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class plan_against_a_running_daemon(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-plan-test-")
        shutil.copytree(os.path.join(SOURCE, "etc/vigil"), self.dir, dirs_exist_ok=True)
        self.socket = os.path.join(self.dir, "run", "vigil.sock")
        self.main = os.path.join(self.dir, "vigil.toml")
        self.edit("vigil.toml", 'control_socket = "/run/vigil/vigil.sock"',
                  f'control_socket = "{self.socket}"')
        # No VRRP on the host's eth0 and no kernel IPVS here: an interface that does not exist
        # (FAULT, silent) and the in-memory table.
        self.edit("vigil.toml", 'interface = "eth0"', 'interface = "vigil-none0"')
        self.edit("vigil.toml", 'backend = "netlink"', 'backend = "memory"')
        self.edit("vigil.toml", 'state_dir = "/var/lib/vigil"', f'state_dir = "{self.dir}/state"')
        self.http = health_server()
        for name in ("vigil.toml", "conf.d/web.toml", "conf.d/api-tls.toml"):
            localize(os.path.join(self.dir, name), self.http.port)
        self.events_path = os.path.join(self.dir, "events.log")
        self.events_file = open(self.events_path, "w")
        self.daemon = subprocess.Popen([VIGIL, "run", "-c", self.main], stderr=self.events_file,
                                       stdout=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.socket), what="the control socket")
        wait_for(lambda: "daemon.started" in read(self.events_path), what="daemon.started")
        # A copy to edit: the plan reads it, the daemon's own file stays as it is.
        self.next = os.path.join(self.dir, "next")
        shutil.copytree(self.dir, self.next, ignore=shutil.ignore_patterns("run", "state", "*.log"))

    def tearDown(self):
        if self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        self.events_file.close()
        self.http.close()
        shutil.rmtree(self.dir)

    def edit(self, name, old, new, folder=None):
        path = os.path.join(folder or self.dir, name)
        text = read(path)
        self.assertIn(old, text)
        write(path, text.replace(old, new, 1))

    def plan(self, *args, config=None):
        return subprocess.run([VIGIL, "plan", "-s", self.socket, "-c", config or self.main, *args],
                              capture_output=True, text=True, timeout=30)

    def plan_json(self, config=None):
        result = self.plan("--json", config=config)
        self.assertIn(result.returncode, (0, 3), result.stderr)
        return result.returncode, json.loads(result.stdout)

    def test_the_running_config_plans_no_change(self):
        result = self.plan()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "no changes\n")

    def test_a_weight_change_is_one_edit_and_nothing_is_applied(self):
        next_main = os.path.join(self.next, "vigil.toml")
        self.edit("conf.d/web.toml", "weight = 3", "weight = 7", folder=self.next)
        code, reply = self.plan_json(config=next_main)
        self.assertEqual(code, 3)
        self.assertTrue(reply["changes"])
        [op] = reply["ipvs"]["operations"]
        self.assertEqual(op["op"], "edit_destination")
        self.assertIn("weight 7", op["text"])
        self.assertEqual(reply["vrrp"], [])
        self.assertFalse(reply["master_resigns"])
        text = self.plan(config=next_main)
        self.assertEqual(text.returncode, 3)
        self.assertIn("IPVS: 1 operation", text.stdout)
        # Nothing was applied: the running table still has weight 3, and no reload happened.
        status = json.loads(subprocess.run([VIGIL, "status", "--json", "-s", self.socket],
                                           capture_output=True, text=True).stdout)
        web = next(s for s in status["ipvs"]["services"] if s["virtual_server"] == "web")
        self.assertIn(("web/127.0.1.101:80", 3),
                      {(d["real_server"], d["weight"]) for d in web["destinations"]})
        self.assertEqual(status["config"]["reloads_applied"], 0)
        self.assertNotIn("config.reloaded", read(self.events_path))

    def test_vrrp_priority_is_in_place_and_a_vrid_change_restarts(self):
        next_main = os.path.join(self.next, "vigil.toml")
        self.edit("vigil.toml", "priority = 150", "priority = 120", folder=self.next)
        _, reply = self.plan_json(config=next_main)
        [instance] = reply["vrrp"]
        self.assertEqual((instance["instance"], instance["change"], instance["priority_from"],
                          instance["priority_to"]), ("VI_1", "in_place", 150, 120))
        self.edit("vigil.toml", "virtual_router_id = 51", "virtual_router_id = 52",
                  folder=self.next)
        _, reply = self.plan_json(config=next_main)
        [instance] = reply["vrrp"]
        self.assertEqual(instance["change"], "restart")
        self.assertEqual(instance["state"], "FAULT")
        self.assertFalse(instance["master_resigns"])  # it is not master

    def test_a_removed_virtual_server_deletes_its_service_and_checks(self):
        os.remove(os.path.join(self.next, "conf.d/api-tls.toml"))
        code, reply = self.plan_json(config=os.path.join(self.next, "vigil.toml"))
        self.assertEqual(code, 3)
        self.assertEqual([o["op"] for o in reply["ipvs"]["operations"]], ["delete_service"])
        self.assertEqual(sorted(reply["checks"]["removed"]),
                         ["api/127.0.1.111:443", "api/127.0.1.112:443"])

    def test_an_invalid_file_exits_2_with_located_errors(self):
        self.edit("conf.d/web.toml", "weight = 3", "weigth = 3", folder=self.next)
        result = self.plan(config=os.path.join(self.next, "vigil.toml"))
        self.assertEqual(result.returncode, 2)
        self.assertRegex(result.stderr, r"web\.toml:\d+:\d+: error: .*weigth")
        self.assertEqual(result.stdout, "")

    def test_a_relative_path_is_refused_by_the_daemon(self):
        import socket
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.socket)
            s.sendall(b'{"command":"plan","file":"vigil.toml"}\n')
            reply = json.loads(s.makefile().readline())
        self.assertIn("absolute", reply["error"])

    def test_no_daemon_exits_1(self):
        result = subprocess.run([VIGIL, "plan", "-s", os.path.join(self.dir, "nothing.sock"),
                                 "-c", self.main], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
