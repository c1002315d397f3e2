"""A network lab made of namespaces, for tests that need real VRRP peers.

Topology: a namespace holding bridge br0 (STP off, no forward delay, no multicast snooping) and one
namespace per host, each joined to the bridge by a veth whose inner end is eth0. Nothing is created
in the root namespace and every address lives inside the lab. Namespace names carry the test's pid
so parallel test runs never collide.

Every host records `ip -ts monitor address` from the moment it exists, so tests can check from the
kernel's own event stream (not by sampling) who held a VIP when.
"""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"


def run(*args, check=True, **kwargs):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kwargs)


def process_alive(pid):
    """Alive and not a zombie (PID 1 here may reap orphans late, so kill -0 is not enough)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class host:
    def __init__(self, lab, name, index):
        self.lab = lab
        self.name = name
        self.netns = f"{lab.prefix}{name}"
        self.index = index
        self.ipv4 = f"10.{lab.subnet}.0.{index}"
        self.processes = []

    def exec(self, *args, check=True, **kwargs):
        return run(IP, "netns", "exec", self.netns, *args, check=check, **kwargs)

    def popen(self, args, **kwargs):
        process = subprocess.Popen([IP, "netns", "exec", self.netns, *args], **kwargs)
        self.processes.append(process)
        return process

    def addresses(self):
        out = run(IP, "-n", self.netns, "-o", "addr", "show", "dev", "eth0").stdout
        return [line.split()[3] for line in out.splitlines()]

    def has(self, address):
        return any(a.split("/")[0] == address for a in self.addresses())

    def link_local(self):
        for a in self.addresses():
            if a.startswith("fe80:"):
                return a.split("/")[0]
        return None

    def mac(self):
        out = run(IP, "-n", self.netns, "-o", "link", "show", "dev", "eth0").stdout
        return re.search(r"link/ether (\S+)", out).group(1)

    def link(self, up):
        run(IP, "-n", self.netns, "link", "set", "eth0", "up" if up else "down")


class lab:
    def __init__(self, hosts=("n1", "n2", "n3"), ipv6=False):
        # A short unique prefix: namespace names are files under /run/netns.
        self.prefix = f"vg{os.getpid() % 100000}{int(time.monotonic() * 1000) % 1000}-"
        self.subnet = 99
        self.dir = tempfile.mkdtemp(prefix="vigil-lab-")
        self.bridge_netns = f"{self.prefix}br"
        self.hosts = {}
        self.monitors = {}
        self.sniffers = []
        self.ipv6 = ipv6
        try:
            run(IP, "netns", "add", self.bridge_netns)
            run(IP, "-n", self.bridge_netns, "link", "add", "br0", "type", "bridge", "stp_state",
                "0", "forward_delay", "0", "mcast_snooping", "0")
            run(IP, "-n", self.bridge_netns, "link", "set", "lo", "up")
            for i, name in enumerate(hosts, start=1):
                self.add_host(name, i)
            run(IP, "-n", self.bridge_netns, "link", "set", "br0", "up")
            first, *others = self.hosts.values()
            for other in others:
                wait_for(lambda: first.exec("ping", "-c1", "-W1", "-q", other.ipv4,
                                            check=False).returncode == 0, 10, "the bridge")
            if ipv6:
                for h in self.hosts.values():
                    wait_for(h.link_local, 10, f"a link-local address on {h.name}")
        except BaseException:
            self.close()
            raise

    def add_host(self, name, index):
        h = host(self, name, index)
        run(IP, "netns", "add", h.netns)
        run(IP, "-n", h.netns, "link", "set", "lo", "up")
        run(IP, "-n", self.bridge_netns, "link", "add", f"v{index}", "type", "veth", "peer",
            "name", "eth0", "netns", h.netns)
        run(IP, "-n", self.bridge_netns, "link", "set", f"v{index}", "master", "br0", "up")
        # No duplicate address detection: addresses are usable at once, as on a settled link.
        h.exec("sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
               "net.ipv6.conf.default.accept_dad=0")
        h.exec("sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
        run(IP, "-n", h.netns, "addr", "add", f"{h.ipv4}/24", "dev", "eth0")
        run(IP, "-n", h.netns, "link", "set", "eth0", "up")
        log = open(os.path.join(self.dir, f"{name}.addrmon"), "w")
        self.monitors[name] = (subprocess.Popen([IP, "-ts", "-n", h.netns, "monitor", "address"],
                                                stdout=log, stderr=subprocess.STDOUT), log)
        self.hosts[name] = h
        return h

    def __getitem__(self, name):
        return self.hosts[name]

    def sniff(self, host_name, bpf, flags=("-e", "-vv")):
        """Starts tcpdump on a host's eth0; returns a function that stops it and gives the text."""
        path = os.path.join(self.dir, f"sniff-{len(self.sniffers)}.txt")
        out = open(path, "w")
        process = self.hosts[host_name].popen(
            ["tcpdump", "-i", "eth0", "-n", "-l", *flags, bpf], stdout=out,
            stderr=subprocess.DEVNULL)
        self.sniffers.append(process)
        time.sleep(0.5)  # tcpdump needs a moment before it captures

        def stop():
            time.sleep(0.2)
            process.terminate()
            process.wait(timeout=5)
            out.close()
            with open(path) as f:
                return f.read()
        return stop

    def vip_intervals(self, vip):
        """From the address monitors: per host, the list of (added, removed-or-None) times."""
        intervals = {}
        for name, (process, log) in self.monitors.items():
            log.flush()
            spans = []
            with open(log.name) as f:
                lines = f.readlines()
            for line in lines:
                match = re.match(r"\[(\S+)\]\s+(Deleted )?\d+: \S+\s+inet6? (\S+)", line)
                if not match or match.group(3).split("/")[0] != vip:
                    continue
                when = datetime.datetime.fromisoformat(match.group(1)).timestamp()
                if match.group(2):
                    if spans and spans[-1][1] is None:
                        spans[-1] = (spans[-1][0], when)
                else:
                    spans.append((when, None))
            intervals[name] = spans
        return intervals

    def overlaps(self, vip, hosts):
        """Every period during which two of `hosts` held `vip` at once: (start, seconds)."""
        intervals = self.vip_intervals(vip)
        now = time.time()
        found = []
        names = list(hosts)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for (a0, a1) in intervals.get(a, []):
                    for (b0, b1) in intervals.get(b, []):
                        start, end = max(a0, b0), min(a1 or now, b1 or now)
                        if end > start:
                            found.append((start, end - start))
        return found

    def close(self):
        for h in self.hosts.values():
            for p in h.processes:
                if p.poll() is None:
                    p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        for p in self.sniffers:
            if p.poll() is None:
                p.kill()
        for process, log in self.monitors.values():
            process.kill()
            process.wait()
            log.close()
        for h in self.hosts.values():
            run(IP, "netns", "pids", h.netns, check=False)
            for pid in run(IP, "netns", "pids", h.netns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            run(IP, "netns", "del", h.netns, check=False)
        run(IP, "netns", "del", self.bridge_netns, check=False)
        if os.environ.get("VIGIL_KEEP_LAB"):
            print("lab files kept in", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class vigil_node:
    """vigil run in a lab host, with its events as JSON lines."""

    def __init__(self, vigil, h, config_text):
        self.host = h
        self.vigil = vigil
        self.dir = os.path.join(h.lab.dir, f"vigil-{h.name}")
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "vigil.toml")
        self.socket = os.path.join(self.dir, "vigil.sock")
        self.events_path = os.path.join(self.dir, "events.log")
        with open(self.config, "w") as f:
            f.write(f'[global]\nnode = "{h.name}"\ncontrol_socket = "{self.socket}"\n'
                    f'[global.log]\nformat = "json"\nlevel = "debug"\n\n' + config_text)
        self.process = None

    def start(self, launcher=()):
        """`launcher` goes before the command line, e.g. ("chrt", "-f", "10")."""
        # A restarted node appends to the same log: wait for this run's start, not the last one's.
        started_before = self.event_count("daemon.started") if os.path.exists(self.events_path) else 0
        self.events_file = open(self.events_path, "a")
        self.process = self.host.popen([*launcher, self.vigil, "run", "-c", self.config],
                                       stderr=self.events_file, stdout=subprocess.DEVNULL)
        wait_for(lambda: self.event_count("daemon.started") > started_before
                 or self.process.poll() is not None,
                 10, f"vigil on {self.host.name} to start")
        if self.process.poll() is not None:
            with open(self.events_path) as f:
                raise AssertionError(f"vigil on {self.host.name} exited: {f.read()}")
        return self

    def thread_id(self, name):
        """The id of the daemon's thread called `name` (the main loop is "vigil", VRRP's
        "vigil-vrrp")."""
        task = f"/proc/{self.process.pid}/task"
        for tid in sorted(os.listdir(task), key=int):
            with open(f"{task}/{tid}/comm") as f:
                if f.read().strip() == name:
                    return int(tid)
        raise AssertionError(f"vigil on {self.host.name} has no thread {name}")

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        self.process.wait(timeout=10)
        self.events_file.close()
        return self.process.returncode

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=10)
        self.events_file.close()

    def events(self, name=None):
        records = []
        with open(self.events_path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    records.append(json.loads(line))
        return [r for r in records if name is None or r["event"] == name]

    def event_count(self, name):
        return len(self.events(name))

    def state(self, instance="VI_1"):
        return self.status()["vrrp_instances_by_name"][instance]["state"]

    def status(self):
        out = run(self.vigil, "status", "--json", "-s", self.socket).stdout
        document = json.loads(out)
        document["vrrp_instances_by_name"] = {i["name"]: i for i in document["vrrp_instances"]}
        return document


class keepalived_node:
    """Debian's keepalived (VRRP only: -P) in a lab host."""

    def __init__(self, h, body, version=2):
        self.host = h
        self.dir = os.path.join(h.lab.dir, f"keepalived-{h.name}")
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "keepalived.conf")
        with open(self.config, "w") as f:
            f.write(f"global_defs {{\n    router_id {h.name}\n    vrrp_version {version}\n"
                    f"    enable_script_security\n    script_user root\n}}\n{body}\n")
        self.process = None

    def pidfile(self, kind):
        return os.path.join(self.dir, f"{kind}.pid")

    def start(self):
        for kind in ("keepalived", "vrrp", "checkers", "bfd"):
            if os.path.exists(self.pidfile(kind)):
                os.remove(self.pidfile(kind))
        self.log = open(os.path.join(self.dir, "keepalived.log"), "a")
        self.process = self.host.popen(
            ["keepalived", "-n", "-l", "-D", "-G", "-P", "-f", self.config,
             "-p", self.pidfile("keepalived"), "-r", self.pidfile("vrrp"),
             "-c", self.pidfile("checkers"), "-b", self.pidfile("bfd")],
            stdout=self.log, stderr=subprocess.STDOUT)
        def vrrp_pid():
            try:
                with open(self.pidfile("vrrp")) as f:
                    return f.read().strip()
            except OSError:
                return None
        wait_for(vrrp_pid, 10, "keepalived's VRRP process")
        return self

    def pids(self):
        pids = []
        for kind in ("keepalived", "vrrp"):
            try:
                with open(self.pidfile(kind)) as f:
                    pids.append(int(f.read()))
            except (OSError, ValueError):
                pass
        return pids

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        for pid in self.pids():
            wait_for(lambda: not process_alive(pid), 10, "keepalived to exit")
        self.log.close()

    def kill(self):
        # The VRRP child first: killed after its parent, it would get the parent-death SIGTERM
        # keepalived arranges and resign cleanly with priority 0, which is not a crash.
        for pid in reversed(self.pids()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.process.wait(timeout=10)
        self.log.close()
