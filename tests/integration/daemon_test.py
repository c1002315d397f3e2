#!/usr/bin/python3
"""vigil run for real: the control socket, status against its schema, SIGHUP reloads (good and
bad), log events, and a clean stop on SIGTERM."""

import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import jsonschema

VIGIL = sys.argv[1]
SOURCE = sys.argv[2]
SCHEMA = json.load(open(os.path.join(SOURCE, "src/status.schema.json")))
# A config must run something: a VRRP instance on an interface that does not exist stays in FAULT
# and sends nothing, for tests about the daemon itself.
IDLE_INSTANCE = ('[[vrrp_instance]]\nname = "VI_idle"\ninterface = "vigil-none0"\n'
                 'virtual_router_id = 51\nvirtual_ipaddress = ["127.0.1.250/32"]\n')


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class health_server:
    """An HTTP server on 0.0.0.0:PORT (so it answers every 127.x address) for the checks."""

    def __init__(self):
        import http.server
        import threading

        class handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path.startswith("/health") else 404)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def localize(path, port):
    """The example's 192.168.1.x addresses become 127.0.1.x, and the HTTP(S) real servers'
    checks go to the local test server's port; nothing leaves the machine."""
    text = open(path).read().replace("192.168.1.", "127.0.1.")
    text = text.replace('check = { type = "https"', f'check = {{ type = "http", connect = "127.0.0.1:{port}"')
    text = text.replace('host = "api.example.com", ', "")
    text = text.replace('check = { type = "http", path', f'check = {{ type = "http", connect = "127.0.0.1:{port}", path')
    text = text.replace('check = { type = "tcp"', f'check = {{ type = "tcp", connect = "127.0.0.1:{port}"')
    open(path, "w").write(text)


class running_daemon(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-daemon-test-")
        shutil.copytree(os.path.join(SOURCE, "etc/vigil"), self.dir, dirs_exist_ok=True)
        self.socket = os.path.join(self.dir, "run", "vigil.sock")
        self.main = os.path.join(self.dir, "vigil.toml")
        self.edit("vigil.toml", 'control_socket = "/run/vigil/vigil.sock"',
                  f'control_socket = "{self.socket}"')
        # The example's eth0 exists on the host: VRRP must not speak there, so the instance is
        # pointed at an interface that does not exist and stays in FAULT.
        self.edit("vigil.toml", 'interface = "eth0"', 'interface = "vigil-none0"')
        # This host's kernel has no IPVS: the in-memory table stands in for it (tests/ipvs-vm
        # covers the kernel), and the state directory is the test's own.
        self.edit("vigil.toml", 'backend = "netlink"', 'backend = "memory"')
        self.edit("vigil.toml", 'state_dir = "/var/lib/vigil"', f'state_dir = "{self.dir}/state"')
        # Health checks must only ever reach this machine: every example address moves onto
        # loopback, and a local server answers the checks (one listener serves every 127.x).
        self.http = health_server()
        for name in ("vigil.toml", "conf.d/web.toml", "conf.d/api-tls.toml"):
            localize(os.path.join(self.dir, name), self.http.port)
        self.events_path = os.path.join(self.dir, "events.log")
        self.events_file = open(self.events_path, "w")
        self.daemon = subprocess.Popen([VIGIL, "run", "-c", self.main], stderr=self.events_file,
                                       stdout=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.socket), what="the control socket")
        wait_for(lambda: self.events("daemon.started"), what="daemon.started")

    def tearDown(self):
        if self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        self.events_file.close()
        self.http.close()
        shutil.rmtree(self.dir)

    def edit(self, name, old, new):
        path = os.path.join(self.dir, name)
        text = open(path).read()
        self.assertIn(old, text)
        open(path, "w").write(text.replace(old, new))

    def line_of(self, name, text):
        lines = open(os.path.join(self.dir, name)).read().splitlines()
        return next(i + 1 for i, line in enumerate(lines) if line.startswith(text))

    def events(self, name=None):
        records = [json.loads(line) for line in open(self.events_path) if line.strip()]
        return [r for r in records if name is None or r["event"] == name]

    def status(self, *extra):
        result = subprocess.run([VIGIL, "status", "-s", self.socket, *extra], capture_output=True,
                                text=True, timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def status_json(self):
        document = json.loads(self.status("--json"))
        jsonschema.validate(document, SCHEMA)
        return document

    def reload(self, expected_event):
        before = len(self.events(expected_event))
        self.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: len(self.events(expected_event)) > before, what=expected_event)
        return self.events(expected_event)[-1]

    def test_status_json_matches_the_schema_and_the_config(self):
        document = self.status_json()
        self.assertEqual(document["daemon"]["pid"], self.daemon.pid)
        self.assertEqual(document["daemon"]["node"], "lb1")
        self.assertEqual(document["config"]["file"], self.main)
        self.assertEqual(document["config"]["vrrp_instances"], 1)
        self.assertEqual(document["config"]["virtual_servers"], 2)
        self.assertEqual(document["config"]["real_servers"], 4)
        self.assertEqual(document["config"]["reloads_applied"], 0)
        [instance] = document["vrrp_instances"]
        self.assertEqual((instance["name"], instance["interface"], instance["state"]),
                         ("VI_1", "vigil-none0", "FAULT"))
        self.assertIsNone(instance["master"])
        self.assertEqual(instance["adverts_sent"], 0)
        # The example's two virtual servers are programmed (into the in-memory table here), with
        # every real server up: no check has said otherwise yet.
        ipvs = document["ipvs"]
        self.assertEqual(ipvs["backend"], "memory")
        self.assertEqual(sorted(s["service"] for s in ipvs["services"]),
                         ["tcp 127.0.1.200:443", "tcp 127.0.1.200:80"])
        web = next(s for s in ipvs["services"] if s["virtual_server"] == "web")
        self.assertTrue(web["owned"] and web["in_sync"] and web["quorum_up"])
        self.assertEqual(web["scheduler"], "wrr")
        self.assertEqual({(d["real_server"], d["weight"]) for d in web["destinations"]},
                         {("web/127.0.1.101:80", 3), ("web/127.0.1.102:80", 2)})
        self.assertEqual(ipvs["missing"], [])

    def test_real_servers_are_checked_and_shown(self):
        # The example's checks run every 2-6 s, with jittered starts: within 7 s all have run.
        def checked():
            return [r for r in self.status_json()["real_servers"] if r["checked"]]
        wait_for(lambda: len(checked()) == 4, 8, "every real server checked once")
        servers = {r["name"]: r for r in self.status_json()["real_servers"]}
        self.assertEqual(set(servers), {"web/127.0.1.101:80", "web/127.0.1.102:80",
                                        "api/127.0.1.111:443", "api/127.0.1.112:443"})
        for r in servers.values():
            self.assertEqual((r["state"], r["last_result"]), ("up", "ok"), r)
        self.assertEqual(servers["api/127.0.1.112:443"]["check"], "tcp")
        text = self.status()
        self.assertIn("REAL SERVER", text)
        self.assertRegex(text, r"web/127\.0\.1\.101:80\s+up\s+3\s+3\s+http\s+ok\s+\d+ms")

    def test_a_server_with_two_checks_is_down_while_one_fails_and_the_check_is_named(self):
        import socket
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
        probe.close()  # nothing listens there: the second check is refused
        port = self.http.port
        open(os.path.join(self.dir, "conf.d", "multi.toml"), "w").write(f"""[virtual_server]
address = "127.0.1.210:{port}"
[[virtual_server.real_server]]
address = "127.0.1.121:{port}"
checks = [
    {{ type = "http", path = "/health", interval = "1s", timeout = "500ms" }},
    {{ name = "db", type = "tcp", connect = "127.0.0.1:{closed}", interval = "1s", timeout = "500ms" }},
]
""")
        self.reload("config.reloaded")
        name = f"multi/127.0.1.121:{port}"

        def server():
            return next((r for r in self.status_json()["real_servers"] if r["name"] == name), None)
        wait_for(lambda: server() and all(c["checked"] for c in server()["checks"]), 5,
                 "both checks run")
        wait_for(lambda: server()["state"] == "down", 5, "the server down")
        r = server()
        self.assertEqual((r["check"], r["type"], r["last_result"]), ("db", "tcp", "connection refused"))
        self.assertEqual([(c["name"], c["type"], c["state"]) for c in r["checks"]],
                         [("http", "http", "up"), ("db", "tcp", "down")])
        [down] = [e for e in self.events("real_server.down") if e["real_server"] == name]
        self.assertEqual((down["check"], down["reason"]), ("db", "connection refused"))
        self.assertRegex(self.status(), name.replace(".", r"\.") + r"\s+down\s+1\s+\S+\s+db\s+connection refused")
        # Without the failing check, the server is up at once, by the reload.
        self.edit("conf.d/multi.toml", "    {{ name = \"db\"".replace("{{", "{"), "#")
        self.reload("config.reloaded")
        wait_for(lambda: server()["state"] == "up", 5, "the server up")
        [up] = [e for e in self.events("real_server.up") if e["real_server"] == name]
        self.assertEqual((up["check"], up["reason"]), ("http", "reload"))

    def test_the_schema_rejects_what_it_does_not_describe(self):
        document = self.status_json()
        document["surprise"] = 1
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.validate(document, SCHEMA)

    def test_text_status_is_readable(self):
        text = self.status()
        self.assertIn("on lb1, pid %d" % self.daemon.pid, text)
        self.assertIn("1 VRRP instance, 2 virtual servers, 4 real servers", text)

    def test_startup_events_carry_their_fields(self):
        loaded = self.events("config.loaded")[0]
        self.assertEqual(loaded["level"], "info")
        self.assertEqual(loaded["file"], self.main)
        self.assertEqual((loaded["vrrp_instances"], loaded["virtual_servers"], loaded["real_servers"]),
                         (1, 2, 4))
        started = self.events("daemon.started")[0]
        self.assertEqual(started["pid"], self.daemon.pid)
        self.assertEqual(started["control_socket"], self.socket)
        self.assertRegex(started["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_control_socket_is_private(self):
        mode = stat.S_IMODE(os.stat(self.socket).st_mode)
        self.assertEqual(mode, 0o600)

    def test_a_good_reload_applies_the_new_config(self):
        self.edit("conf.d/web.toml", '[[virtual_server.real_server]]\naddress = "127.0.1.102:80"',
                  '[[virtual_server.real_server]]\naddress = "127.0.1.102:80"\n\n'
                  '[[virtual_server.real_server]]\naddress = "127.0.1.103:80"')
        event = self.reload("config.reloaded")
        self.assertEqual(event["real_servers"], 5)
        document = self.status_json()
        self.assertEqual(document["config"]["real_servers"], 5)
        self.assertEqual(document["config"]["reloads_applied"], 1)
        # The new real server reaches the IPVS table (the reconciler syncs within ~200 ms).
        def web_destinations():
            ipvs = self.status_json()["ipvs"]
            web = next(s for s in ipvs["services"] if s["virtual_server"] == "web")
            return {d["address"] for d in web["destinations"]}
        wait_for(lambda: "127.0.1.103:80" in web_destinations(), 5, "the new destination")

    def test_a_bad_reload_is_refused_and_the_running_config_stays(self):
        self.edit("conf.d/web.toml", "weight = 3", "weight = -1")
        self.edit("vigil.toml", "priority = 150", "priority = 0")
        event = self.reload("config.rejected")
        self.assertEqual(event["level"], "error")
        self.assertEqual(event["errors"], 2)
        self.assertEqual(event["diagnostics"], [
            f"{self.main}:{self.line_of('vigil.toml', 'priority = 0')}:12: error: "
            "vrrp_instance[0].priority: 0 is out of range (1 to 255)",
            f"{self.dir}/conf.d/web.toml:{self.line_of('conf.d/web.toml', 'weight = -1')}:10: "
            "error: virtual_server.real_server[0].weight: -1 is out of range (0 to 65535)",
        ])
        document = self.status_json()
        self.assertEqual(document["config"]["real_servers"], 4)
        self.assertEqual(document["config"]["reloads_rejected"], 1)
        self.assertIn("priority: 0 is out of range", document["config"]["last_rejection"])
        self.assertIsNone(self.daemon.poll(), "the daemon must keep running")

    def test_a_reload_whose_log_target_or_socket_cannot_open_is_refused(self):
        self.edit("vigil.toml", 'target = "stderr"', 'target = "/proc/vigil-none/events.log"')
        event = self.reload("config.rejected")
        self.assertEqual(event["diagnostics"],
                         ["log target /proc/vigil-none/events.log cannot be opened"])
        self.edit("vigil.toml", 'target = "/proc/vigil-none/events.log"', 'target = "stderr"')
        self.edit("vigil.toml", f'control_socket = "{self.socket}"',
                  'control_socket = "/proc/vigil-none/vigil.sock"')
        event = self.reload("config.rejected")
        self.assertEqual(event["errors"], 1)
        self.assertIn("cannot create /proc/vigil-none", event["diagnostics"][0])
        # The running config stays: the old socket answers, on the old log target.
        document = self.status_json()
        self.assertEqual(document["config"]["reloads_rejected"], 2)
        self.assertEqual(document["config"]["reloads_applied"], 0)
        self.assertIsNone(self.daemon.poll())

    def vigil_cli(self, *args):
        return subprocess.run([VIGIL, *args, "-s", self.socket], capture_output=True, text=True,
                              timeout=10)

    def web_weights(self):
        ipvs = self.status_json()["ipvs"]
        web = next(s for s in ipvs["services"] if s["virtual_server"] == "web")
        return {d["address"]: d["weight"] for d in web["destinations"]}

    def test_drain_survives_reload_and_restart_until_undrained(self):
        wait_for(lambda: self.web_weights().get("127.0.1.101:80") == 3, 5, "the initial table")
        result = self.vigil_cli("drain", "web", "127.0.1.101:80")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "web/127.0.1.101:80 drained\n")
        wait_for(lambda: self.web_weights().get("127.0.1.101:80") == 0, 5, "weight 0")
        self.assertEqual(self.web_weights()["127.0.1.102:80"], 2, "others untouched")
        self.assertEqual(self.status_json()["drained"], ["web/127.0.1.101:80"])
        self.assertEqual(self.events("real_server.drained")[-1]["real_server"],
                         "web/127.0.1.101:80")

        self.reload("config.reloaded")
        time.sleep(0.5)
        self.assertEqual(self.web_weights()["127.0.1.101:80"], 0, "a reload keeps the drain")

        self.daemon.send_signal(signal.SIGTERM)
        self.assertEqual(self.daemon.wait(timeout=10), 0)
        self.daemon = subprocess.Popen([VIGIL, "run", "-c", self.main], stderr=self.events_file,
                                       stdout=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.socket), 10, "the restarted daemon")
        wait_for(lambda: self.web_weights().get("127.0.1.101:80") == 0, 5,
                 "the drain to survive a restart")

        result = self.vigil_cli("undrain", "web", "127.0.1.101:80")
        self.assertEqual(result.returncode, 0, result.stderr)
        wait_for(lambda: self.web_weights().get("127.0.1.101:80") == 3, 5, "weight 3 again")
        self.assertEqual(self.status_json()["drained"], [])

    def control(self, request):
        """One request over the control socket, as the CLI sends it."""
        import socket as sockets
        with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket)
            s.sendall((json.dumps(request) + "\n").encode())
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        return json.loads(reply)

    def test_no_acknowledged_drain_is_lost_or_torn_by_sigkill(self):
        import random
        import threading
        names = ["web/127.0.1.101:80", "web/127.0.1.102:80", "web/127.0.1.103:80",
                 "api-tls/127.0.1.201:443"]
        drained_file = os.path.join(self.dir, "state", "drained")
        rng = random.Random(1234)
        for round_number in range(12):
            acknowledged = set(self.status_json()["drained"])
            in_flight = [None]
            stop = threading.Event()

            def churn():
                while not stop.is_set():
                    name = rng.choice(names)
                    want = name not in acknowledged
                    in_flight[0] = (name, want)
                    try:
                        reply = self.control({"command": "drain" if want else "undrain",
                                              "real_server": name})
                    except (OSError, ValueError):
                        return  # the daemon died under us
                    if "error" in reply:
                        return
                    (acknowledged.add if want else acknowledged.discard)(name)
                    in_flight[0] = None

            worker = threading.Thread(target=churn)
            worker.start()
            time.sleep(rng.uniform(0.0, 0.3))
            self.daemon.kill()
            self.daemon.wait()
            stop.set()
            worker.join(10)
            lines = open(drained_file).read().split("\n") if os.path.exists(drained_file) else [""]
            self.assertEqual(lines[-1], "", f"round {round_number}: a torn last line {lines!r}")
            on_disk = set(lines[:-1])
            self.assertTrue(on_disk <= set(names), f"round {round_number}: {on_disk}")
            allowed = [acknowledged]
            if in_flight[0]:
                name, want = in_flight[0]
                allowed.append((acknowledged | {name}) if want else (acknowledged - {name}))
            self.assertIn(on_disk, allowed, f"round {round_number}: an acknowledged drain lost")
            self.daemon = subprocess.Popen([VIGIL, "run", "-c", self.main],
                                           stderr=self.events_file, stdout=subprocess.DEVNULL)
            wait_for(lambda: self.events("daemon.started") and os.path.exists(self.socket) and
                     self.daemon_answers(), 10, "the restarted daemon")
            self.assertEqual(set(self.status_json()["drained"]), on_disk)
            self.assertFalse(os.path.exists(drained_file + ".tmp"),
                             "the restart removes a temporary the kill left")

    def daemon_answers(self):
        try:
            return "daemon" in self.control({"command": "status"})
        except (OSError, ValueError):
            return False

    def test_an_unchanged_reload_changes_nothing(self):
        def checked():
            return [r for r in self.status_json()["real_servers"] if r["checked"]]
        wait_for(lambda: len(checked()) == 4, 8, "every real server checked once")
        wait_for(lambda: self.status_json()["ipvs"]["missing"] == [], 5, "the table applied")
        time.sleep(0.5)

        def changing_syncs():
            return [e for e in self.events("ipvs.synced") if e["operations"] > 0]
        before = self.status_json()
        syncs_before = len(changing_syncs())
        self.reload("config.reloaded")
        time.sleep(1)  # several sync periods (200 ms) later
        after = self.status_json()
        self.assertEqual(len(changing_syncs()), syncs_before, "no IPVS operation")
        since = lambda doc: {r["name"]: (r["state"], r["since"]) for r in doc["real_servers"]}
        self.assertEqual(since(after), since(before), "no health reset")
        vrrp = lambda doc: [(i["name"], i["state"], i["since"], i["transitions"])
                            for i in doc["vrrp_instances"]]
        self.assertEqual(vrrp(after), vrrp(before), "the VRRP instance kept its state")
        self.assertEqual(after["config"]["reloads_applied"], 1)

    def test_a_partial_reload_applies_only_what_changed(self):
        def checked():
            return [r for r in self.status_json()["real_servers"] if r["checked"]]
        wait_for(lambda: len(checked()) == 4, 8, "every real server checked once")
        wait_for(lambda: self.status_json()["ipvs"]["missing"] == [], 5, "the table applied")
        time.sleep(0.5)
        before = self.status_json()
        syncs_before = len(self.events("ipvs.synced"))

        # One weight changes, one real server goes, one comes; api-tls.toml and VRRP stay.
        self.edit("conf.d/web.toml", "weight = 3", "weight = 5")
        self.edit("conf.d/web.toml", 'address = "127.0.1.102:80"', 'address = "127.0.1.103:80"')
        self.reload("config.reloaded")
        wait_for(lambda: self.web_weights() == {"127.0.1.101:80": 5, "127.0.1.103:80": 2}, 5,
                 "the new web table")
        time.sleep(1)  # several sync periods (200 ms) later: nothing more may follow
        after = self.status_json()
        operations = sum(e["operations"] for e in self.events("ipvs.synced")[syncs_before:])
        self.assertEqual(operations, 3, "one weight edit, one delete, one add")

        by_name = lambda doc: {r["name"]: r for r in doc["real_servers"]}
        old, new = by_name(before), by_name(after)
        self.assertNotIn("web/127.0.1.102:80", new)
        self.assertIn("web/127.0.1.103:80", new)
        # Same check: the health state and its counters carry on, whatever the weight.
        for name in ("web/127.0.1.101:80", "api/127.0.1.111:443", "api/127.0.1.112:443"):
            self.assertEqual((new[name]["state"], new[name]["since"]),
                             (old[name]["state"], old[name]["since"]), name)
            self.assertGreaterEqual(new[name]["consecutive"], old[name]["consecutive"], name)
        self.assertEqual(new["web/127.0.1.101:80"]["weight"], 5)
        api = lambda doc: next(s for s in doc["ipvs"]["services"] if s["virtual_server"] == "api")
        self.assertEqual(api(after)["destinations"], api(before)["destinations"])
        vrrp = lambda doc: [(i["name"], i["state"], i["since"], i["transitions"])
                            for i in doc["vrrp_instances"]]
        self.assertEqual(vrrp(after), vrrp(before), "the VRRP instance kept its state")

    def test_drain_of_an_unknown_real_server_is_refused(self):
        result = self.vigil_cli("drain", "web", "127.0.1.199:80")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no real server web/127.0.1.199:80", result.stderr)
        self.assertEqual(self.status_json()["drained"], [])

    def test_vigil_reload_applies_or_reports_the_errors(self):
        result = self.vigil_cli("reload")
        self.assertEqual((result.returncode, result.stdout), (0, "reloaded\n"), result.stderr)
        self.edit("conf.d/web.toml", "weight = 3", "weight = -1")
        result = self.vigil_cli("reload")
        self.assertEqual(result.returncode, 2)
        self.assertIn("weight: -1 is out of range (0 to 65535)", result.stderr)
        self.assertEqual(self.status_json()["config"]["reloads_rejected"], 1)

    def test_sigterm_stops_cleanly_and_removes_the_socket(self):
        self.daemon.send_signal(signal.SIGTERM)
        self.assertEqual(self.daemon.wait(timeout=10), 0)
        self.assertFalse(os.path.exists(self.socket))
        self.assertEqual(self.events("daemon.stopping")[-1]["signal"], "TERM")

    def test_a_second_daemon_refuses_the_same_socket(self):
        result = subprocess.run([VIGIL, "run", "-c", self.main], capture_output=True, text=True,
                                timeout=10)
        self.assertEqual(result.returncode, 1)
        self.assertIn("another process is listening", result.stderr)
        self.status_json()  # the first one is untouched

    def test_a_request_that_is_not_json_gets_an_error_reply(self):
        import socket
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.socket)
            s.sendall(b"status please\n")
            reply = json.loads(s.makefile().read())
        self.assertIn("error", reply)
        self.status_json()

    def test_a_non_root_client_cannot_use_the_socket(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run a client as another user")
        nobody = pwd.getpwnam("nobody")
        result = subprocess.run([VIGIL, "status", "-s", self.socket], capture_output=True,
                                text=True, timeout=10, user=nobody.pw_uid, group=nobody.pw_gid,
                                extra_groups=[])
        self.assertEqual(result.returncode, 1)
        self.assertIn("Permission denied", result.stderr)


class file_log_target(unittest.TestCase):
    def test_events_go_to_the_file_and_a_reload_reopens_it_after_rotation(self):
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "vigil.log")
            main = os.path.join(tmp, "vigil.toml")
            socket_path = os.path.join(tmp, "vigil.sock")
            open(main, "w").write(f'[global]\ncontrol_socket = "{socket_path}"\n'
                                  f'[global.log]\ntarget = "{log}"\nformat = "json"\n' +
                                  IDLE_INSTANCE)
            daemon = subprocess.Popen([VIGIL, "run", "-c", main], stderr=subprocess.PIPE)
            try:
                wait_for(lambda: os.path.exists(log) and "daemon.started" in open(log).read(),
                         what="daemon.started in the log file")
                os.rename(log, log + ".1")  # what logrotate does
                daemon.send_signal(signal.SIGHUP)
                wait_for(lambda: os.path.exists(log) and "config.reloaded" in open(log).read(),
                         what="config.reloaded in a new log file")
                self.assertEqual(stat.S_IMODE(os.stat(log).st_mode) & 0o007, 0)
                events = [json.loads(line)["event"] for line in open(log + ".1")]
                self.assertEqual([e for e in events if not e.startswith("vrrp.")],
                                 ["config.loaded", "daemon.started"])
                daemon.send_signal(signal.SIGTERM)
                self.assertEqual(daemon.wait(timeout=10), 0)
                self.assertEqual(daemon.stderr.read(), b"", "nothing may go to stderr")
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()


class alert_hooks(unittest.TestCase):
    """Alert hooks delivering to a program and to HTTP receivers on loopback."""

    def test_program_and_post_hooks_with_retry_and_failure(self):
        import http.server
        import threading
        received = []

        class receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["Content-Type"], json.loads(body)))
                # The first delivery fails: the hook must retry it.
                self.send_response(500 if len(received) == 1 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        closed = socket_port_nobody_listens_on()
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "alerts.log")
            main = os.path.join(tmp, "vigil.toml")
            events_path = os.path.join(tmp, "events.log")
            open(main, "w").write(f"""[global]
control_socket = "{tmp}/s"
state_dir = "{tmp}/state"
[global.log]
format = "json"

[[alert]]
events = ["config.*"]
command = ["/bin/sh", "-c", "printf '%s %s\\n' \\"$1\\" \\"$VIGIL_EVENT\\" >> {out}", "alert"]

[[alert]]
events = ["config.reloaded"]
url = "http://127.0.0.1:{server.server_address[1]}/hook"
retries = 2

[[alert]]
events = ["daemon.started"]
url = "http://127.0.0.1:{closed}/nobody"
timeout = "500ms"
retries = 1
""" + IDLE_INSTANCE)
            with open(events_path, "w") as events_file:
                daemon = subprocess.Popen([VIGIL, "run", "-c", main], stderr=events_file)
                try:
                    wait_for(lambda: os.path.exists(out) and "config.loaded" in open(out).read(), 5,
                             "the program hook to see config.loaded")
                    name, document = open(out).read().splitlines()[0].split(" ", 1)
                    self.assertEqual(name, "config.loaded")
                    self.assertEqual(json.loads(document)["event"], "config.loaded")

                    daemon.send_signal(signal.SIGHUP)
                    wait_for(lambda: len(received) == 2, 5, "the POST to be retried and delivered")
                    self.assertEqual(received[0], received[1])
                    content_type, event = received[1]
                    self.assertEqual(content_type, "application/json")
                    self.assertEqual(event["event"], "config.reloaded")

                    def failures():
                        return [json.loads(line) for line in open(events_path)
                                if '"alert.failed"' in line]
                    wait_for(failures, 5, "the dead receiver to be reported")
                    failure = failures()[0]
                    self.assertEqual((failure["alert_event"], failure["attempts"]), ("daemon.started", 2))
                    time.sleep(1.5)
                    self.assertEqual(len(failures()), 1, "alert.failed never alerts on itself")
                    self.assertEqual([line.split(" ", 1)[0] for line in open(out).read().splitlines()],
                                     ["config.loaded", "config.reloaded"])
                    daemon.send_signal(signal.SIGTERM)
                    self.assertEqual(daemon.wait(timeout=10), 0)
                finally:
                    if daemon.poll() is None:
                        daemon.kill()
                        daemon.wait()
                    server.shutdown()
                    server.server_close()


class programs_run_as_their_user(unittest.TestCase):
    """`user` on alert and notify programs: the program runs with that user's ids and groups, not
    root's."""

    def test_alert_and_notify_programs_run_as_nobody(self):
        if os.geteuid() != 0:
            self.skipTest("switching users needs root")
        nobody = pwd.getpwnam("nobody")
        with tempfile.TemporaryDirectory() as tmp:
            # nobody writes its answers where only the folder's mode lets it.
            os.chmod(tmp, 0o755)
            out = os.path.join(tmp, "out")
            os.mkdir(out)
            os.chmod(out, 0o777)
            main = os.path.join(tmp, "vigil.toml")
            open(main, "w").write(f"""[global]
control_socket = "{tmp}/s"
state_dir = "{tmp}/state"

[[alert]]
events = ["daemon.started"]
command = ["/bin/sh", "-c", "id -u > {out}/alert.tmp; id -G >> {out}/alert.tmp; mv {out}/alert.tmp {out}/alert"]
user = "nobody"
""" + IDLE_INSTANCE + f"""notify = ["/bin/sh", "-c", "id -u > {out}/notify.tmp; id -g >> {out}/notify.tmp; mv {out}/notify.tmp {out}/notify"]
notify_user = "nobody"
notify_group = "daemon"
""")
            daemon = subprocess.Popen([VIGIL, "run", "-c", main], stderr=subprocess.DEVNULL)
            try:
                alert = os.path.join(out, "alert")
                wait_for(lambda: os.path.exists(alert), 5, "the alert program to write its ids")
                self.assertEqual(open(alert).read().split(),
                                 [str(nobody.pw_uid), str(nobody.pw_gid)],
                                 "nobody's uid and only nobody's groups: root's are gone")
                self.assertEqual(os.stat(alert).st_uid, nobody.pw_uid)
                notify = os.path.join(out, "notify")
                wait_for(lambda: os.path.exists(notify), 5, "the notify program to write its ids")
                self.assertEqual(open(notify).read().split(), [str(nobody.pw_uid), "1"])
                daemon.send_signal(signal.SIGTERM)
                self.assertEqual(daemon.wait(timeout=10), 0)
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()


def socket_port_nobody_listens_on():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class systemd_notify(unittest.TestCase):
    """The notify protocol against a datagram socket the test owns (PID 1 here is not systemd)."""

    def test_ready_watchdog_reloading_and_stopping(self):
        import socket
        with tempfile.TemporaryDirectory() as tmp:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            listener.bind(os.path.join(tmp, "notify"))
            listener.settimeout(5)
            main = os.path.join(tmp, "vigil.toml")
            open(main, "w").write(f'[global]\ncontrol_socket = "{tmp}/s"\nstate_dir = "{tmp}/state"\n'
                                  f'[global.ipvs]\nbackend = "memory"\n' + IDLE_INSTANCE)
            env = dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, "notify"),
                       WATCHDOG_USEC="200000")
            daemon = subprocess.Popen([VIGIL, "run", "-c", main], env=env,
                                      stderr=subprocess.DEVNULL)
            try:
                def next_message():
                    return listener.recv(4096).decode()

                first = next_message()
                self.assertTrue(first.startswith("READY=1\nSTATUS="), first)
                started = time.monotonic()
                pings = 0
                while time.monotonic() - started < 1.0:
                    pings += next_message() == "WATCHDOG=1"
                # Half the 200 ms watchdog timeout: about 10 pings a second.
                self.assertGreaterEqual(pings, 7)
                daemon.send_signal(signal.SIGHUP)
                seen = [next_message() for _ in range(6)]
                reload_messages = [m for m in seen if m != "WATCHDOG=1"]
                self.assertEqual(reload_messages[:2], ["RELOADING=1", "READY=1"])
                daemon.send_signal(signal.SIGTERM)
                while (message := next_message()) == "WATCHDOG=1":
                    pass
                self.assertEqual(message, "STOPPING=1")
                self.assertEqual(daemon.wait(timeout=10), 0)
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()
                listener.close()


class flap_damping(unittest.TestCase):
    def test_a_flapping_real_server_logs_once_while_ipvs_follows_every_transition(self):
        import http.server
        import threading

        healthy = threading.Event()
        healthy.set()

        class handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if healthy.is_set() else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "conf.d"))
            main = os.path.join(tmp, "vigil.toml")
            with open(main, "w") as f:
                f.write(f'[global]\ncontrol_socket = "{tmp}/s"\nstate_dir = "{tmp}/state"\n'
                        'include = ["conf.d/*.toml"]\nflap_threshold = 2\nflap_window = "3s"\n'
                        '[global.ipvs]\nbackend = "memory"\n[global.log]\nformat = "json"\n')
            with open(os.path.join(tmp, "conf.d", "web.toml"), "w") as f:
                f.write('[virtual_server]\naddress = "127.0.1.200:80"\nprotocol = "tcp"\n'
                        f'check = {{ type = "http", connect = "127.0.0.1:{server.server_address[1]}", '
                        'interval = "200ms", timeout = "200ms", rise = 1, fall = 1 }\n'
                        '[[virtual_server.real_server]]\naddress = "127.0.1.101:80"\n')
            events_path = os.path.join(tmp, "events.log")
            with open(events_path, "w") as events_file:
                daemon = subprocess.Popen([VIGIL, "run", "-c", main], stderr=events_file,
                                          stdout=subprocess.DEVNULL)
            try:
                def events(name):
                    with open(events_path) as f:
                        records = [json.loads(line) for line in f if line.strip()]
                    return [r for r in records if r["event"] == name]

                def observed():
                    result = subprocess.run([VIGIL, "status", "--json", "-s", f"{tmp}/s"],
                                            capture_output=True, text=True, timeout=10)
                    if result.returncode != 0:
                        return None
                    document = json.loads(result.stdout)
                    state = document["real_servers"][0]["state"]
                    in_table = bool(document["ipvs"]["services"][0]["destinations"])
                    return state, in_table

                wait_for(lambda: observed() == ("up", True), 10, "the real server up and applied")
                # Six transitions, well within one window: each is applied to the table before
                # the next (on_failure = "remove": down means out of the table).
                for flip in range(6):
                    if healthy.is_set():
                        healthy.clear()
                    else:
                        healthy.set()
                    want = ("up", True) if healthy.is_set() else ("down", False)
                    wait_for(lambda: observed() == want, 5, f"transition {flip + 1} applied")
                self.assertEqual(len(events("real_server.down")) + len(events("real_server.up")),
                                 2, "the threshold's worth of lines, then silence")
                flapping = events("real_server.flapping")
                self.assertEqual(len(flapping), 1)
                self.assertEqual(flapping[0]["real_server"], "web/127.0.1.101:80")
                self.assertEqual(flapping[0]["transitions"], 3)
                # Quiet for a whole window: one flapping_stopped, in the state it settled on.
                wait_for(lambda: events("real_server.flapping_stopped"), 8, "flapping_stopped")
                self.assertEqual(events("real_server.flapping_stopped")[0]["state"], "up")
                self.assertEqual(len(events("real_server.flapping")), 1)
            finally:
                daemon.kill()
                daemon.wait()
                server.shutdown()
                server.server_close()


class startup(unittest.TestCase):
    def test_netlink_ipvs_on_a_kernel_without_ipvs_is_a_clear_error(self):
        if os.path.exists("/proc/net/ip_vs"):
            return  # this kernel has IPVS: the guest suite (tests/ipvs-vm) covers netlink
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(os.path.join(SOURCE, "etc/vigil"), tmp, dirs_exist_ok=True)
            main = os.path.join(tmp, "vigil.toml")
            text = open(main).read()
            text = text.replace('control_socket = "/run/vigil/vigil.sock"',
                                f'control_socket = "{tmp}/s"')
            text = text.replace('interface = "eth0"', 'interface = "vigil-none0"')
            text = text.replace('state_dir = "/var/lib/vigil"', f'state_dir = "{tmp}/state"')
            open(main, "w").write(text)
            for name in ("vigil.toml", "conf.d/web.toml", "conf.d/api-tls.toml"):
                localize(os.path.join(tmp, name), 9)  # discard port: nothing may leave the host
            result = subprocess.run([VIGIL, "run", "-c", main], capture_output=True, text=True,
                                    timeout=10)
            self.assertEqual(result.returncode, 1)
            failure = [json.loads(line) for line in result.stderr.splitlines()
                       if '"ipvs.start_failed"' in line]
            self.assertEqual(len(failure), 1, result.stderr)
            self.assertEqual(failure[0]["backend"], "netlink")
            self.assertIn("IPVS", failure[0]["error"])
            self.assertFalse(os.path.exists(os.path.join(tmp, "s")))

    def test_an_invalid_config_never_starts_the_daemon(self):
        with tempfile.TemporaryDirectory() as tmp:
            main = os.path.join(tmp, "vigil.toml")
            open(main, "w").write('[global]\ncontrol_socket = "%s/s"\nbogus = 1\n' % tmp)
            result = subprocess.run([VIGIL, "run", "-c", main], capture_output=True, text=True,
                                    timeout=10)
            self.assertEqual(result.returncode, 2)
            self.assertEqual(result.stderr, f'{main}:3:1: error: global: unknown key "bogus"\n')
            self.assertFalse(os.path.exists(os.path.join(tmp, "s")))


if __name__ == "__main__":
    # A skipped case makes the whole test report "skipped" to ctest (exit 77), so CI sees it.
    result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    sys.exit(77 if result.skipped else 0)
