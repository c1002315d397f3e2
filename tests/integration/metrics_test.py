#!/usr/bin/python3
"""The Prometheus listener of a running vigil: /metrics in the text format as promtool checks it,
/healthz, its limits, reload moving and stopping it, and a real Prometheus server scraping it and
seeing a real server's health fall to 0 when its web server stops."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

VIGIL = sys.argv[1]
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class health_server:
    """An HTTP server on 0.0.0.0:PORT answering /health with 200."""

    def __init__(self):
        import http.server
        import threading

        class handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.closed = False

    def close(self):
        if not self.closed:
            self.closed = True
            self.server.shutdown()
            self.server.server_close()


def get(port, path, timeout=5):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.getheader("Content-Type"), body.decode()


class metrics_listener(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-metrics-test-")
        self.socket = os.path.join(self.dir, "vigil.sock")
        self.port = free_port()
        self.web = [health_server(), health_server()]
        self.real_servers = [f"web/127.0.1.{11 + i}:{s.port}" for i, s in enumerate(self.web)]
        self.main = os.path.join(self.dir, "vigil.toml")
        self.write_config(f'listen = "127.0.0.1:{self.port}"')
        self.events_path = os.path.join(self.dir, "events.log")
        self.events_file = open(self.events_path, "w")
        self.daemon = subprocess.Popen([VIGIL, "run", "-c", self.main], stderr=self.events_file,
                                       stdout=subprocess.DEVNULL)
        wait_for(lambda: self.events("daemon.started"), what="daemon.started")

    def tearDown(self):
        if self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        self.events_file.close()
        for s in self.web:
            s.close()
        shutil.rmtree(self.dir)

    def write_config(self, metrics_line):
        # VRRP needs raw sockets: an instance (on an interface that does not exist, so it stays
        # in FAULT) only when the test runs as root.
        vrrp = ""
        if os.geteuid() == 0:
            vrrp = """
[[vrrp_instance]]
name = "VI_1"
interface = "vigil-none0"
virtual_router_id = 51
priority = 150
version = 3
virtual_ipaddress = ["127.0.1.200/32"]
"""
        real_servers = "".join(
            f'[[virtual_server.real_server]]\naddress = "127.0.1.{11 + i}:{s.port}"\nweight = {i + 1}\n'
            for i, s in enumerate(self.web))
        with open(self.main, "w") as f:
            f.write(f"""[global]
node = "lb1"
include = ["conf.d/*.toml"]
control_socket = "{self.socket}"
state_dir = "{self.dir}/state"

[global.ipvs]
backend = "memory"

[global.log]
format = "json"

[global.metrics]
{metrics_line}
{vrrp}""")
        os.makedirs(os.path.join(self.dir, "conf.d"), exist_ok=True)
        with open(os.path.join(self.dir, "conf.d", "web.toml"), "w") as f:
            f.write(f"""[virtual_server]
address = "127.0.1.200:80"
check = {{ type = "http", path = "/health", timeout = "500ms", interval = "1s", rise = 1, fall = 1 }}
{real_servers}""")

    def events(self, name=None):
        records = []
        with open(self.events_path) as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass  # a record still being written
        return [r for r in records if name is None or r["event"] == name]

    def reload(self, expected_event):
        before = len(self.events(expected_event))
        self.daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: len(self.events(expected_event)) > before, what=expected_event)

    def scrape(self):
        status, content_type, body = get(self.port, "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(content_type, "text/plain; version=0.0.4; charset=utf-8")
        return body

    def test_metrics_pass_promtool_and_hold_every_engine(self):
        wait_for(lambda: all(f'vigil_real_server_checks_total{{virtual_server="web",real_server="{rs}",check="http",result="success"}} 1'
                             in self.scrape() or
                             f'vigil_real_server_checks_total{{virtual_server="web",real_server="{rs}",check="http",result="success"}} 2'
                             in self.scrape() for rs in self.real_servers),
                 what="a check of every real server")
        body = self.scrape()
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                               text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        lines = body.splitlines()
        self.assertIn('vigil_build_info{version="0.1.0"} 1', lines)
        self.assertIn('vigil_config_reloads_total{result="applied"} 0', lines)
        for rs in self.real_servers:
            labels = f'virtual_server="web",real_server="{rs}"'
            self.assertIn(f"vigil_real_server_up{{{labels}}} 1", lines)
            self.assertIn(f"vigil_real_server_drained{{{labels}}} 0", lines)
        self.assertIn(f'vigil_real_server_applied_weight{{virtual_server="web",real_server="{self.real_servers[1]}"}} 2', lines)
        self.assertIn('vigil_virtual_server_quorum_up{virtual_server="web"} 1', lines)
        self.assertIn("vigil_ipvs_in_sync 1", lines)
        self.assertIn('vigil_ipvs_syncs_total{reason="startup"} 1', lines)
        self.assertTrue(any(l.startswith("vigil_checker_runs_started_total ") for l in lines))
        if os.geteuid() == 0:
            self.assertIn('vigil_vrrp_state{vrrp_instance="VI_1",state="FAULT"} 1', lines)

    def test_healthz_unknown_paths_and_bad_requests(self):
        self.assertEqual(get(self.port, "/healthz")[0], 200)
        self.assertEqual(get(self.port, "/healthz")[2], "ok\n")
        self.assertEqual(get(self.port, "/nothing")[0], 404)
        # A request whose headers exceed the limit is answered 400 and the connection closed.
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            answer = s.recv(4096)
            self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:40])
        # Keep-alive: two scrapes on one connection.
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        for _ in range(2):
            connection.request("GET", "/metrics")
            response = connection.getresponse()
            self.assertEqual(response.status, 200)
            response.read()
        connection.close()

    def test_idle_connections_are_capped_and_never_block_scrapes(self):
        idle = [socket.create_connection(("127.0.0.1", self.port), timeout=5) for _ in range(40)]
        try:
            time.sleep(0.3)
            # Past the cap new connections are closed at once; those already served remain
            # usable, and the loop keeps running the checks and the control socket.
            closed = 0
            for s in idle:
                s.settimeout(0.2)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except socket.timeout:
                    pass
            self.assertGreaterEqual(closed, 40 - 16)
            status = subprocess.run([VIGIL, "status", "-s", self.socket], capture_output=True,
                                    timeout=10)
            self.assertEqual(status.returncode, 0)
        finally:
            for s in idle:
                s.close()
        wait_for(lambda: self.try_scrape(), what="a scrape once the idle clients left")

    def try_scrape(self):
        try:
            return get(self.port, "/metrics")[0] == 200
        except OSError:
            return False

    def test_reload_moves_and_stops_the_listener(self):
        new_port = free_port()
        self.write_config(f'listen = "127.0.0.1:{new_port}"')
        self.reload("config.reloaded")
        old_port, self.port = self.port, new_port
        self.assertIn("vigil_build_info", self.scrape())
        self.assertIn('vigil_config_reloads_total{result="applied"} 1', self.scrape().splitlines())
        with self.assertRaises(ConnectionRefusedError):
            get(old_port, "/metrics")
        # A port another process holds: the reload is refused and the listener stays.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            self.write_config(f'listen = "127.0.0.1:{taken.getsockname()[1]}"')
            self.reload("config.rejected")
            self.assertIn('vigil_config_reloads_total{result="rejected"} 1', self.scrape().splitlines())
        self.write_config("")
        self.reload("config.reloaded")
        with self.assertRaises(ConnectionRefusedError):
            get(self.port, "/metrics")

    def test_prometheus_scrapes_vigil_and_sees_a_real_server_go_down(self):
        prom_dir = os.path.join(self.dir, "prometheus")
        os.makedirs(prom_dir)
        prom_port = free_port()
        config = os.path.join(prom_dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vigil
    static_configs:
      - targets: ["127.0.0.1:{self.port}"]
""")
        log = open(os.path.join(prom_dir, "prometheus.log"), "w")
        prometheus = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={prom_dir}/data",
             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=log)
        try:
            def query(expression):
                url = (f"http://127.0.0.1:{prom_port}/api/v1/query?" +
                       urllib.parse.urlencode({"query": expression}))
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        answer = json.load(response)
                except OSError:
                    return None
                results = answer["data"]["result"]
                return float(results[0]["value"][1]) if results else None

            wait_for(lambda: query('up{job="vigil"}') == 1.0, timeout=60, what="up == 1")
            down = self.real_servers[1]
            health = f'vigil_real_server_up{{real_server="{down}"}}'
            wait_for(lambda: query(health) == 1.0, timeout=30, what=f"{down} up")
            self.web[1].close()
            wait_for(lambda: query(health) == 0.0, timeout=30, what=f"{down} down")
            self.assertEqual(query(f'vigil_real_server_up{{real_server="{self.real_servers[0]}"}}'), 1.0)
        finally:
            prometheus.terminate()
            try:
                prometheus.wait(timeout=15)
            except subprocess.TimeoutExpired:
                prometheus.kill()
                prometheus.wait()
            log.close()


if __name__ == "__main__":
    if not PROMTOOL or not PROMETHEUS:
        print("promtool and prometheus are needed (Debian's prometheus package)", file=sys.stderr)
        sys.exit(1)
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
