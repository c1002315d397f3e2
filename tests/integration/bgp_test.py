"""BGP announcements through real BIRD 2 (root): a router and three directors in namespaces.

The router runs BIRD with ECMP (`merge paths on` in its kernel protocol) and BFD; each director runs
BIRD (exporting vigil's static protocols) and vigil with one announced virtual server whose one real
server is a TCP listener in the director's namespace. Every assertion reads the router's kernel FIB
(`ip route show VIP`): how many next hops, and how soon after the event they changed. The measured
times are printed (median and max); bench/bgp_failover.py runs more trials of the same steps.
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
import unittest

import jsonschema

sys.path.insert(0, os.path.dirname(__file__))
import lab as netlab  # noqa: E402

VIGIL = sys.argv[1] if len(sys.argv) > 1 else "vigil"
SOURCE = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..")
with open(os.path.join(SOURCE, "src", "status.schema.json")) as schema_file:
    SCHEMA = json.load(schema_file)
VIP = "10.99.100.1"
HOLD_DOWN = 2.0
DRAIN_WAIT = 1.5
REAL_SERVER = ("import socket, time\n"
               "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
               "s.bind(('127.0.0.1', 8081)); s.listen(64)\n"
               "while True: s.accept()[0].close()\n")

ROUTER_BIRD = """router id {me};
protocol device {{ scan time 10; }}
protocol kernel {{ ipv4 {{ import none; export all; }}; merge paths on; }}
protocol bfd {{ interface "eth0" {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }}; }}
template bgp director {{
    local {me} as 65000;
    ipv4 {{ import all; export none; }};
    bfd on; hold time 9; keepalive time 3;
    connect delay time 1; connect retry time 2; error wait time 1, 2;
}}
{peers}
"""

DIRECTOR_BIRD = """router id {me};
protocol device {{ scan time 10; }}
protocol bfd {{ interface "eth0" {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }}; }}
filter vigil_export {{
    if proto ~ "vigil_*" then {{ if defined(bgp_med) then bgp_med = bgp_med; accept; }}
    reject;
}}
include "{include_dir}/*.conf";
protocol bgp uplink {{
    local {me} as 65001; neighbor {router} as 65000;
    ipv4 {{ import none; export filter vigil_export; next hop self; }};
    bfd on; hold time 9; keepalive time 3;
    connect delay time 1; connect retry time 2; error wait time 1, 2;
}}
"""


def next_hops(router):
    out = router.exec(netlab.IP, "route", "show", VIP, check=False).stdout
    return sorted(line.split()[2] for line in out.splitlines() if "via" in line.split()[:3]
                  or line.strip().startswith("nexthop")) if out.strip() else []


def hops_of(out):
    hops = []
    for line in out.splitlines():
        words = line.split()
        if "via" in words:
            hops.append(words[words.index("via") + 1])
    return sorted(hops)


class bird:
    def __init__(self, h, text):
        self.host = h
        self.dir = os.path.join(h.lab.dir, f"bird-{h.name}")
        os.makedirs(os.path.join(self.dir, "include"), exist_ok=True)
        self.conf = os.path.join(self.dir, "bird.conf")
        self.socket = os.path.join(self.dir, "bird.ctl")
        with open(self.conf, "w") as f:
            f.write(text)
        self.process = None

    def start(self):
        self.log = open(os.path.join(self.dir, "bird.log"), "a")
        self.process = self.host.popen(["bird", "-f", "-c", self.conf, "-s", self.socket],
                                       stdout=self.log, stderr=subprocess.STDOUT)
        netlab.wait_for(lambda: os.path.exists(self.socket), 10, f"BIRD on {self.host.name}")
        return self

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=10)
        self.log.close()
        if os.path.exists(self.socket):
            os.remove(self.socket)


class director:
    def __init__(self, h, router_address):
        self.host = h
        self.bird = bird(h, DIRECTOR_BIRD.format(me=h.ipv4, router=router_address,
                                                 include_dir=os.path.join(
                                                     h.lab.dir, f"bird-{h.name}", "include")))
        self.dir = os.path.join(h.lab.dir, f"vigil-{h.name}")
        os.makedirs(os.path.join(self.dir, "conf.d"), exist_ok=True)
        self.config = os.path.join(self.dir, "vigil.toml")
        self.socket = os.path.join(self.dir, "vigil.sock")
        self.events_path = os.path.join(self.dir, "events.log")
        self.write_config(med=10)
        self.real_server = None
        self.process = None

    def write_config(self, med):
        with open(self.config, "w") as f:
            f.write(f"""[global]
node = "{self.host.name}"
include = ["conf.d/*.toml"]
control_socket = "{self.socket}"
state_dir = "{self.dir}/state"
[global.log]
format = "json"
level = "debug"
[global.ipvs]
backend = "memory"
[global.metrics]
listen = "127.0.0.1:9101"
[global.bgp]
bird_socket = "{self.bird.socket}"
include_file = "{self.bird.dir}/include/vigil.conf"
hold_down = "{int(HOLD_DOWN * 1000)}ms"
drain_wait = "{int(DRAIN_WAIT * 1000)}ms"
""")
        with open(os.path.join(self.dir, "conf.d", "web.toml"), "w") as f:
            f.write(f"""[virtual_server]
name = "web"
address = "{VIP}:80"
quorum = 1
check = {{ type = "tcp", interval = "100ms", timeout = "100ms", rise = 1, fall = 1, recheck_interval = "100ms" }}
announce = {{ med = {med}, communities = ["65001:100"] }}
[[virtual_server.real_server]]
address = "127.0.0.1:8081"
""")

    def start_real_server(self):
        self.real_server = self.host.popen([sys.executable, "-c", REAL_SERVER])
        netlab.wait_for(lambda: self.host.exec("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8081",
                                               check=False).returncode == 0, 10,
                        f"the real server on {self.host.name}")

    def stop_real_server(self):
        self.real_server.kill()
        self.real_server.wait(timeout=10)

    def start(self):
        before = self.count("daemon.started")
        self.events = open(self.events_path, "a")
        self.process = self.host.popen([VIGIL, "run", "-c", self.config], stderr=self.events,
                                       stdout=subprocess.DEVNULL)
        netlab.wait_for(lambda: self.count("daemon.started") > before
                        or self.process.poll() is not None, 10, f"vigil on {self.host.name}")
        assert self.process.poll() is None, open(self.events_path).read()

    def records(self, name=None):
        out = []
        if not os.path.exists(self.events_path):
            return out
        with open(self.events_path) as f:
            for line in f:
                if line.startswith("{"):
                    r = json.loads(line)
                    if name is None or r["event"] == name:
                        out.append(r)
        return out

    def count(self, name):
        return len(self.records(name))

    def vigil(self, *args, check=True):
        return netlab.run(VIGIL, *args, "-s", self.socket, check=check)

    def gauge(self):
        out = self.host.exec("curl", "-sf", "http://127.0.0.1:9101/metrics").stdout
        for line in out.splitlines():
            if line.startswith("vigil_bgp_announced{"):
                return int(line.split()[-1])
        return None

    def status(self):
        document = json.loads(self.vigil("status", "--json").stdout)
        jsonschema.validate(document, SCHEMA)
        return document


def median_max(values):
    return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


class bgp_lab:
    def __init__(self):
        self.lab = netlab.lab(hosts=("r", "d1", "d2", "d3"))
        try:
            self.router_host = self.lab["r"]
            names = ("d1", "d2", "d3")
            peers = "\n".join(
                f"protocol bgp {n} from director {{ neighbor {self.lab[n].ipv4} as 65001; }}"
                for n in names)
            self.router = bird(self.router_host,
                               ROUTER_BIRD.format(me=self.router_host.ipv4, peers=peers)).start()
            self.directors = {n: director(self.lab[n], self.router_host.ipv4) for n in names}
            for d in self.directors.values():
                d.bird.start()
                d.start_real_server()
                d.start()
            self.wait_hops(3, 30, "all three directors announced")
        except BaseException:
            self.lab.close()
            raise

    def hops(self):
        return hops_of(self.router_host.exec(netlab.IP, "route", "show", VIP, check=False).stdout)

    def wait_hops(self, count, timeout, what):
        return netlab.wait_for(lambda: len(self.hops()) == count, timeout, what, interval=0.005)

    def timed(self, action, count, timeout):
        """Runs action, returns the seconds until the router's FIB has `count` next hops."""
        start = time.monotonic()
        action()
        self.wait_hops(count, timeout, f"{count} next hops")
        return time.monotonic() - start

    def close(self):
        self.lab.close()


class bgp_test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.net = bgp_lab()
        cls.figures = []

    @classmethod
    def tearDownClass(cls):
        for d in cls.net.directors.values():
            if d.process and d.process.poll() is None:
                d.process.kill()
                d.process.wait()
            d.events.close()
        cls.net.router.log.close()
        for d in cls.net.directors.values():
            d.bird.log.close()
        cls.net.close()
        for line in cls.figures:
            print(line)

    def setUp(self):
        self.net.wait_hops(3, 20, "three next hops before the case")

    def test_1_quorum_loss_withdraws_within_1s_and_hold_down_delays_the_return(self):
        net = self.net
        d2 = net.directors["d2"]
        losses, returns = [], []
        withdrawn_before = d2.count("bgp.withdrawn")
        regained_before = d2.count("virtual_server.quorum_regained")
        for _ in range(3):
            losses.append(net.timed(d2.stop_real_server, 2, 1.0))
            self.assertNotIn(d2.host.ipv4, net.hops())
            regained = time.monotonic()
            d2.start_real_server()
            # Back only after the hold-down: the route must not come back before it.
            netlab.wait_for(lambda: d2.count("virtual_server.quorum_regained") >=
                            regained_before + len(returns) + 1,
                            3, "the quorum back")
            while time.monotonic() - regained < HOLD_DOWN * 0.8:
                self.assertEqual(len(net.hops()), 2, "announced again before the hold-down")
                time.sleep(0.02)
            net.wait_hops(3, HOLD_DOWN + 3, "the route back after the hold-down")
            returns.append(time.monotonic() - regained)
        reasons = [r["reason"] for r in d2.records("bgp.withdrawn")[withdrawn_before:]]
        self.assertEqual(reasons, ["quorum_lost"] * 3)
        self.assertTrue(all(r >= HOLD_DOWN for r in returns), returns)
        self.figures.append(f"quorum loss -> router FIB: {median_max(losses)} (3 trials)")
        self.figures.append(f"quorum back -> announced: {median_max(returns)} "
                            f"(hold-down {HOLD_DOWN:.0f} s)")

    def test_2_sigkill_of_vigil_withdraws_within_3s(self):
        net = self.net
        d3 = net.directors["d3"]
        times = []
        for _ in range(3):
            times.append(net.timed(lambda: os.kill(d3.process.pid, signal.SIGKILL), 2, 3.0))
            d3.process.wait(timeout=5)
            d3.events.close()
            d3.start()
            net.wait_hops(3, 10, "d3 back after its restart")
        # A device left persistent (by `ip tuntap add`, say) is taken over and made mortal: it
        # still dies with vigil.
        os.kill(d3.process.pid, signal.SIGKILL)
        d3.process.wait(timeout=5)
        d3.events.close()
        netlab.wait_for(lambda: d3.host.exec(netlab.IP, "link", "show", "vigil-live",
                                             check=False).returncode != 0, 3, "the device gone")
        d3.host.exec(netlab.IP, "tuntap", "add", "mode", "tun", "name", "vigil-live")
        d3.start()
        net.wait_hops(3, 10, "d3 back on the once-persistent device")
        times.append(net.timed(lambda: os.kill(d3.process.pid, signal.SIGKILL), 2, 3.0))
        d3.process.wait(timeout=5)
        d3.events.close()
        netlab.wait_for(lambda: d3.host.exec(netlab.IP, "link", "show", "vigil-live",
                                             check=False).returncode != 0, 3,
                        "the once-persistent device gone with vigil")
        d3.start()
        self.figures.append(f"vigil SIGKILL -> router FIB: {median_max(times)} "
                            f"({len(times)} trials)")

    def test_3_bfd_routes_around_a_frozen_director_within_1s(self):
        net = self.net
        d1 = net.directors["d1"]
        times = []
        for _ in range(3):
            # The whole host goes silent: every packet in and out dropped, BIRD and vigil
            # still running (as a hung kernel or a cut cable would look to the router).
            freeze = ("table inet freeze {\n"
                      " chain in { type filter hook input priority -300; policy drop; }\n"
                      " chain out { type filter hook output priority -300; policy drop; }\n}\n")
            times.append(net.timed(lambda: d1.host.exec("nft", "-f", "-", input=freeze), 2, 1.0))
            d1.host.exec("nft", "delete", "table", "inet", "freeze")
            net.wait_hops(3, 20, "d1 back after the thaw")
        self.figures.append(f"director frozen (BFD) -> router FIB: {median_max(times)} (3 trials)")

    def test_4_drain_node_and_sigterm_withdraw_before_the_daemon_stops(self):
        net = self.net
        d2 = net.directors["d2"]
        start = time.monotonic()
        out = d2.vigil("drain-node", "--no-wait").stdout
        self.assertIn("node drained", out)
        net.wait_hops(2, 1.0, "drain-node withdrawn")
        drained_after = time.monotonic() - start
        self.assertEqual(d2.status()["bgp"]["node_mode"], "draining")
        self.assertEqual(d2.gauge(), 0)
        self.assertEqual(d2.records("bgp.withdrawn")[-1]["reason"], "node_draining")
        # The drain outlives the daemon: killed and started again (a crash, an upgrade), the node
        # stays withdrawn until undrain-node, past any hold-down.
        d2.process.kill()
        d2.process.wait(timeout=5)
        d2.events.close()
        d2.start()
        self.assertEqual(d2.status()["bgp"]["node_mode"], "draining")
        self.assertEqual(d2.records("node.draining")[-1]["reason"], "drained before the restart")
        time.sleep(HOLD_DOWN + 1.0)
        self.assertEqual(len(net.hops()), 2, "a restarted drained node announced itself")
        self.assertEqual(d2.gauge(), 0)
        d2.vigil("undrain-node")
        net.wait_hops(3, 2.0, "undrain-node announced again at once (a drain is no quorum loss)")
        self.assertEqual(d2.gauge(), 1)
        # SIGTERM: withdrawn at once, the daemon lives on for drain_wait, then exits cleanly.
        start = time.monotonic()
        d2.process.send_signal(signal.SIGTERM)
        net.wait_hops(2, 1.0, "SIGTERM withdrawn")
        withdrawn = time.monotonic() - start
        self.assertIsNone(d2.process.poll(), "the daemon stopped before drain_wait")
        self.assertEqual(d2.process.wait(timeout=10), 0)
        exited = time.monotonic() - start
        d2.events.close()
        self.assertGreaterEqual(exited - withdrawn, DRAIN_WAIT * 0.8)
        self.assertEqual(d2.records("bgp.withdrawn")[-1]["reason"], "stopping")
        self.figures.append(f"drain-node -> router FIB {drained_after * 1000:.0f} ms; SIGTERM -> "
                            f"FIB {withdrawn * 1000:.0f} ms, exit after {exited:.2f} s")
        d2.start()

    def test_5_bird_missing_at_start_then_started_is_configured(self):
        net = self.net
        d3 = net.directors["d3"]
        d3.process.kill()
        d3.process.wait(timeout=5)
        d3.events.close()
        d3.bird.kill()
        net.wait_hops(2, 15, "d3's routes gone with its BIRD")
        d3.start()  # vigil runs without BIRD
        status = d3.status()
        self.assertFalse(status["bgp"]["bird_accepted"])
        self.assertFalse(status["bgp"]["liveness_up"])
        netlab.wait_for(lambda: d3.count("bgp.bird_failed") > 0, 5, "bgp.bird_failed")
        d3.bird.start()
        net.wait_hops(3, 20, "d3 announced once its BIRD is there")
        status = d3.status()["bgp"]
        self.assertTrue(status["bird_accepted"])
        self.assertEqual(status["announcements"][0]["state"], "announced")
        # BIRD's own protocol states, from its control socket (polled every 5 s).
        netlab.wait_for(lambda: any(p["name"] == "uplink" and p["info"] == "Established"
                                    for p in d3.status()["bgp"]["bird_protocols"]), 8,
                        "BIRD's session state in vigil status")

    def test_6_refused_configure_withdraws_everything_through_the_link(self):
        net = self.net
        d1 = net.directors["d1"]
        broken = os.path.join(d1.bird.dir, "include", "broken.conf")
        with open(broken, "w") as f:
            f.write("protocol static broken {\n")
        try:
            # A change vigil must tell BIRD about: its configure is refused.
            d1.write_config(med=12)
            d1.vigil("reload")
            net.wait_hops(2, 2.0, "everything withdrawn after the refused configure")
            failed = d1.records("bgp.bird_failed")[-1]
            self.assertIn("configure refused", failed["error"])
            self.assertEqual(d1.records("bgp.withdrawn")[-1]["reason"], "bird_error")
            self.assertFalse(d1.status()["bgp"]["liveness_up"])
        finally:
            os.remove(broken)
        # Retried within a second; BIRD takes the file, the link comes up, the prefix is back
        # (with MED 12, worse than the others', so out of the ECMP set until the MED is 10).
        netlab.wait_for(lambda: d1.status()["bgp"]["liveness_up"], 5, "the link up again")
        self.assertEqual(d1.records("bgp.announced")[-1]["reason"], "bird_recovered")
        d1.write_config(med=10)
        d1.vigil("reload")
        net.wait_hops(3, 3.0, "d1 back in the ECMP set")

    def test_7_reload_changing_the_med_moves_traffic(self):
        net = self.net
        d1 = net.directors["d1"]
        d1.write_config(med=50)
        self.assertIn("reloaded", d1.vigil("reload").stdout + "reloaded")
        # A worse MED from d1: the router prefers the two others.
        net.wait_hops(2, 3.0, "d1 out of the ECMP set with a worse MED")
        self.assertNotIn(d1.host.ipv4, net.hops())
        d1.write_config(med=10)
        d1.vigil("reload")
        net.wait_hops(3, 3.0, "d1 back with the same MED")


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("needs root (network namespaces)")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0], "-v", *sys.argv[3:]])
