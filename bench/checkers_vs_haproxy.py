#!/usr/bin/env python3
"""Health checks: vigil against HAProxy on the same loopback servers, in one run.

For each N and each check kind, starts a fresh checkers_bench_server (its own process, not
measured), then in turn a real HAProxy (a generated config: N servers with `check inter 1s`,
`option httpchk` for HTTP) and vigil's checkers engine (checkers_bench --port: the same
health_monitor the daemon runs, on one loop). After a warm-up it measures a window and prints one
line per tool: checks/s the server saw (and the share of the N/s scheduled), lateness p99 of a
check at the server (gap between two checks of one address minus the interval), CPU-s per 1,000
checks (user/sys, from /proc/PID/stat of the checking process only), RSS; then vigil/HAProxy.

Usage: bench/checkers_vs_haproxy.py [--build build] [--servers 1000,10000] [--seconds 15]
                                    [--kinds http,tcp,reuse]
  tcp: HAProxy's TCP check never completes the handshake (it withholds the final ACK and resets),
  so the server cannot accept it: TCP checks are counted for both tools as SYNs to the server's
  port (an nftables counter), and the lateness is only measured for vigil.
  As root the whole run happens in a network namespace of its own (unshare -n), so nothing else
  on the host's loopback is counted and the nftables counter touches no one else.
  reuse: vigil with reuse_connection = true against a keep-alive server (HAProxy's checks have no
  connection reuse, so it runs fresh connections there) and the share of checks that reused one.
  https: HTTPS checks with a full TLS handshake each (vigil tls_session_reuse = false, HAProxy
  `check-ssl no-ssl-reuse`); https-resume: both resume the previous check's TLS session (their
  defaults), with the share of handshakes the server saw resumed. The server's certificate is a
  fresh ECDSA P-256 one, verification off on both sides.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime (fields 14 and 15)


def softirq_ticks():
    """Softirq time of all CPUs (/proc/stat). Loopback packets the checker sends are processed in
    softirq, partly in the sender's context (its sys time) and partly deferred to ksoftirqd or
    another CPU (charged to no checker): a tool that sends in bursts looks cheaper by the process
    alone, so the window's softirq time is shown beside it."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[7])


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def address(i):
    return f"127.1.{i // 250}.{1 + i % 250}"


def make_certificate(directory):
    cert, key = os.path.join(directory, "server.pem"), os.path.join(directory, "server.key")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=bench.test", "-keyout", key, "-out", cert], check=True,
                       capture_output=True)
    return cert, key


class bench_server:
    def __init__(self, build, keep_alive, per_accept, tls=None):
        args = [os.path.join(build, "bench/checkers_bench_server"), "--interval-ms", "1000",
                "--threads", "2"]
        if tls:
            args += ["--tls", *tls]
        if keep_alive:
            args.append("--keep-alive")
        if per_accept:
            args += ["--per", "accept"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def stats(self):
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        return {k: float(v) for k, v in (item.split("=") for item in line.split())}

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy_config(n, port, kind, directory):
    lines = [
        "global",
        "    nbthread 1",
        "    maxconn 4000",  # HAProxy asks for 2 x maxconn + one FD per server
        "defaults",
        "    mode http" if kind != "tcp" else "    mode tcp",
        "    timeout connect 2s",
        "    timeout check 2s",
        "    timeout client 10s",
        "    timeout server 10s",
        # HAProxy does not start without a listener; nothing connects to this one.
        "frontend unused",
        f"    bind 127.0.0.1:{free_port()}",
        "    default_backend checked",
        "backend checked",
    ]
    if kind != "tcp":
        lines.append("    option httpchk GET /health")
    ssl = {"https": " check-ssl verify none no-ssl-reuse",
           "https-resume": " check-ssl verify none"}.get(kind, "")
    lines.append("    default-server check inter 1s" + ssl)
    lines += [f"    server s{i} {address(i)}:{port}" for i in range(n)]
    path = os.path.join(directory, f"haproxy-{kind}-{n}.cfg")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def start_tool(tool, n, port, kind, build, directory, seconds):
    if tool == "haproxy":
        cfg = haproxy_config(n, port, kind, directory)
        return subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    only = {"tcp": "tcp", "https": "https", "https-resume": "https"}.get(kind, "http")
    args = [os.path.join(build, "bench/checkers_bench"), "--servers", str(n), "--port", str(port),
            "--only", only, "--seconds", str(seconds + 60)]
    if kind == "reuse":
        args.append("--reuse")
    if kind == "https":
        args.append("--no-tls-resume")
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class syn_counter:
    """SYNs to one port, counted by nftables (only in our own network namespace)."""

    def __init__(self, port):
        nft = ["add table inet vigil_bench",
               'add chain inet vigil_bench input "{ type filter hook input priority 0; }"',
               "add counter inet vigil_bench syns",
               f'add rule inet vigil_bench input tcp dport {port} "tcp flags & (syn|ack) == syn" '
               "counter name syns"]
        for command in nft:
            subprocess.run("nft " + command, shell=True, check=True)

    def packets(self):
        out = subprocess.run(["nft", "list", "counter", "inet", "vigil_bench", "syns"],
                             check=True, capture_output=True, text=True).stdout
        return float(out.split("packets")[1].split()[0])

    def remove(self):
        subprocess.run(["nft", "delete", "table", "inet", "vigil_bench"], check=True)


def measure(tool, n, kind, build, directory, seconds):
    tls = make_certificate(directory) if kind.startswith("https") else None
    server = bench_server(build, keep_alive=(kind == "reuse"), per_accept=(kind == "tcp"), tls=tls)
    syns = syn_counter(server.port) if kind == "tcp" else None
    proc = start_tool(tool, n, server.port, kind, build, directory, seconds)
    try:
        time.sleep(3.0)  # every check has run once: the start-up spread is over
        if proc.poll() is not None:
            raise RuntimeError(f"{tool} exited with {proc.returncode}")
        s0 = server.stats()
        if syns:
            s0["syns"] = syns.packets()
        c0 = cpu_ticks(proc.pid)
        q0 = softirq_ticks()
        t0 = time.monotonic()
        time.sleep(seconds)
        s1 = server.stats()
        if syns:
            s1["syns"] = syns.packets()
        c1 = cpu_ticks(proc.pid)
        q1 = softirq_ticks()
        t1 = time.monotonic()
        rss = rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.stop()
        if syns:
            syns.remove()
    wall = t1 - t0
    field = "syns" if kind == "tcp" else "requests"
    checks = s1[field] - s0[field]
    connections = s1["connections"] - s0["connections"]
    requests = s1["requests"] - s0["requests"]
    user = (c1[0] - c0[0]) / TICKS
    system = (c1[1] - c0[1]) / TICKS
    per_k = 1000.0 / checks if checks else float("nan")
    r = {
        "checks_s": checks / wall,
        "achieved": checks / wall / n * 100,
        "late_p99": s1["late_p99_ms"] if s1["gaps"] else float("nan"),
        "cpu_k": (user + system) * per_k,
        "user_k": user * per_k,
        "sys_k": system * per_k,
        "softirq_k": (q1 - q0) / TICKS * per_k,
        "rss": rss,
        "reuse": (1 - connections / requests) * 100 if kind == "reuse" and requests else None,
    }
    extra = f", reused {r['reuse']:.1f}% of connections" if r["reuse"] is not None else ""
    handshakes = s1.get("handshakes", 0) - s0.get("handshakes", 0)
    if tls and handshakes:
        r["resumed"] = (s1["resumed"] - s0["resumed"]) / handshakes * 100
        extra += f", {r['resumed']:.1f}% of TLS handshakes resumed"
    print(f"{tool:8} {kind:5} N={n:<6} {r['checks_s']:8.0f} checks/s ({r['achieved']:5.1f}% of "
          f"scheduled), late p99 {r['late_p99']:6.1f} ms, CPU-s/1000 checks {r['cpu_k']:.4f} "
          f"(user {r['user_k']:.4f} sys {r['sys_k']:.4f}; softirq on all CPUs "
          f"{r['softirq_k']:.4f}), RSS {r['rss']:.1f} MB{extra}",
          flush=True)
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--servers", default="1000,10000")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--kinds", default="http,tcp,reuse")
    p.add_argument("--tools", default="haproxy,vigil")
    a = p.parse_args()
    if os.geteuid() == 0 and os.environ.get("VIGIL_BENCH_NETNS") != "1" and shutil.which("unshare"):
        os.environ["VIGIL_BENCH_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "-n", sys.executable, os.path.abspath(__file__)]
                  + sys.argv[1:])
    if os.environ.get("VIGIL_BENCH_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    elif "tcp" in a.kinds.split(","):
        sys.exit("checkers_vs_haproxy: tcp needs root (a network namespace and nftables)")
    if shutil.which("haproxy") is None and "haproxy" in a.tools:
        sys.exit("checkers_vs_haproxy: haproxy is not installed (scripts/install-deps.sh)")
    with tempfile.TemporaryDirectory() as directory:
        for n in (int(x) for x in a.servers.split(",")):
            for kind in a.kinds.split(","):
                results = {}
                for tool in a.tools.split(","):
                    results[tool] = measure(tool, n, kind, a.build, directory, a.seconds)
                if "haproxy" in results and "vigil" in results:
                    h, v = results["haproxy"], results["vigil"]
                    ratio = lambda key: v[key] / h[key] if h[key] else float("nan")
                    with_softirq = ((v["cpu_k"] + v["softirq_k"]) / (h["cpu_k"] + h["softirq_k"])
                                    if h["cpu_k"] + h["softirq_k"] else float("nan"))
                    print(f"ratio    {kind:5} N={n:<6} vigil/HAProxy: CPU per check "
                          f"{ratio('cpu_k'):.2f}x ({with_softirq:.2f}x with softirq), RSS {ratio('rss'):.2f}x, checks/s "
                          f"{ratio('checks_s'):.2f}x", flush=True)


if __name__ == "__main__":
    main()
