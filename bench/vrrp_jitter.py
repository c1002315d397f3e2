#!/usr/bin/python3
"""VRRP timing under the daemon's own load: the master's advert-gap distribution while the same
daemon runs health checks, answers `vigil status` and reloads a large config.

In a namespace lab (tests/integration/lab.py), n1 runs vigil as MASTER of one VRRPv3 instance with
N real servers whose TCP checks run every second against bench/checkers_bench_server on n1's
loopback (N checks/s), IPVS on the memory backend; `vigil status` is asked 50 times a second
over the control socket, open loop (each request on its own connection, up to 32 waiting) and n1 is sent SIGHUP every 2 s (the config alternates one weight,
so each reload has a change to apply). n2 runs vigil as BACKUP with VRRP only. The master's adverts
are captured on n2 (tcpdump, kernel timestamps). For each advert interval it prints the gap
median, p99, p99.9 and max, and the backup's spurious transitions.

    bench/vrrp_jitter.py BUILD_DIR [--seconds 30] [--real-servers 1000] [--intervals 100ms,10ms]
                                   [--no-realtime] [--loads checks,status,reload]

Targets (HA-core issue): max gap <= interval + 5 ms at 100 ms; no spurious transition on the
backup at 10 ms. Both daemons are started SCHED_FIFO (`chrt -f 10`, as systemd's
CPUSchedulingPolicy= would, and as keepalived's vrrp_rt_priority does for its VRRP process), which
only their VRRP threads keep, unless --no-realtime: on a shared machine with more runnable tasks
than CPUs an ordinary busy process waits tens of ms for a CPU, which measures the machine, not
vigil. Needs root.
"""

import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from lab import lab, vigil_node, wait_for  # noqa: E402

VIP = "10.99.0.100"


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    nano = struct.unpack(order + "I", data[:4])[0] == 0xa1b23c4d
    times, offset = [], 24
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(order + "IIII", data[offset:offset + 16])
        times.append(sec + frac / (1e9 if nano else 1e6))
        offset += 16 + caplen
    return times


def thread_policies(pid):
    """Scheduling class (TS, FF, ...) of each thread of `pid`, by thread name."""
    out = subprocess.run(["ps", "-L", "-o", "comm=,cls=", "-p", str(pid)], capture_output=True,
                         text=True, check=True).stdout
    policies = {}
    for line in out.splitlines():
        name, cls = line.rsplit(None, 1)
        policies.setdefault(name.strip(), cls)
    return policies


def percentile(ordered, p):
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 100)) - 1))]


def instance(priority, interval):
    return (f'[[vrrp_instance]]\nname = "VI_1"\ninterface = "eth0"\nvirtual_router_id = 51\n'
            f'priority = {priority}\nversion = 3\nadvert_interval = "{interval}"\n'
            f'virtual_ipaddress = ["{VIP}/24"]\n')


def write_servers(conf_d, real_servers, port, weight):
    """Virtual servers of up to 250 real servers each; the first real server's weight varies."""
    per_file = 250
    for v in range((real_servers + per_file - 1) // per_file):
        with open(os.path.join(conf_d, f"vs{v}.toml.new"), "w") as f:
            f.write(f'[virtual_server]\naddress = "10.200.0.{v + 1}:{port}"\nprotocol = "tcp"\n'
                    'check = { type = "tcp", interval = "1s", timeout = "1s", rise = 1, '
                    'fall = 3 }\n')
            for i in range(min(per_file, real_servers - v * per_file)):
                n = v * per_file + i
                w = weight if n == 0 else 1
                f.write(f'[[virtual_server.real_server]]\n'
                        f'address = "127.{10 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}:{port}"\n'
                        f'weight = {w}\n')
        os.replace(os.path.join(conf_d, f"vs{v}.toml.new"), os.path.join(conf_d, f"vs{v}.toml"))


def ask_status(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(b'{"command":"status"}\n')
        reply = bytearray()
        while not reply.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            reply += chunk
        return bytes(reply)


def run_window(vigil, server_bin, interval, seconds, real_servers, realtime, loads):
    the_lab = lab(hosts=("n1", "n2"))
    try:
        n1, n2 = the_lab["n1"], the_lab["n2"]
        server = n1.popen([server_bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        port = int(server.stdout.readline())
        master = vigil_node(vigil, n1, "")
        conf_d = os.path.join(master.dir, "conf.d")
        os.makedirs(conf_d)
        write_servers(conf_d, real_servers if "checks" in loads else 1, port, 1)
        with open(master.config, "w") as f:
            f.write(f'[global]\nnode = "n1"\ncontrol_socket = "{master.socket}"\n'
                    f'include = ["conf.d/*.toml"]\nstate_dir = "{master.dir}/state"\n'
                    '[global.ipvs]\nbackend = "memory"\n'
                    '[global.log]\nformat = "json"\nlevel = "info"\n\n' + instance(150, interval))
        # Started real-time as systemd's CPUSchedulingPolicy= would: the VRRP thread keeps it.
        launcher = ("chrt", "-f", "10") if realtime else ()
        master.start(launcher)
        wait_for(lambda: n1.has(VIP), 10, "the VIP on n1")
        backup = vigil_node(vigil, n2, instance(100, interval)).start(launcher)
        if realtime:
            for node in (master, backup):
                policies = thread_policies(node.process.pid)
                if policies.get("vigil-vrrp") != "FF" or policies.get("vigil") != "TS":
                    raise AssertionError(f"expected the VRRP thread alone real-time: {policies}")
        time.sleep(3)  # every check has run, the backup follows
        backup_transitions = backup.event_count("vrrp.transition")
        master_transitions = master.event_count("vrrp.transition")

        pcap = os.path.join(the_lab.dir, "adverts.pcap")
        capture = n2.popen(["tcpdump", "-i", "eth0", "-n", "-U", "-B", "8192", "-w", pcap,
                            f"ip proto 112 and src {n1.ipv4}"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        time.sleep(0.5)

        stop = threading.Event()
        counts = {"status": 0, "status_failed": 0, "status_not_sent": 0, "reloads": 0}

        latencies = []
        lock = threading.Lock()

        def ask_once():
            asked = time.monotonic()
            try:
                ask_status(master.socket)
                with lock:
                    counts["status"] += 1
                    latencies.append((time.monotonic() - asked) * 1000)
            except OSError:
                with lock:
                    counts["status_failed"] += 1

        def status_load():
            # Open loop, as 50 monitoring clients would ask: one request every 20 ms whether or
            # not the previous ones were answered (up to 32 in flight), so the daemon's answer
            # rate is measured, not a single client's round trip.
            next_at = time.monotonic()
            in_flight = []
            while "status" in loads and not stop.is_set():
                in_flight = [t for t in in_flight if t.is_alive()]
                if len(in_flight) < 32:
                    t = threading.Thread(target=ask_once)
                    t.start()
                    in_flight.append(t)
                else:
                    counts["status_not_sent"] += 1
                next_at += 1 / 50
                time.sleep(max(0, next_at - time.monotonic()))
            for t in in_flight:
                t.join()

        def reload_load():
            weight = 1
            while "reload" in loads and not stop.wait(2):
                weight = 3 - weight
                write_servers(conf_d, real_servers if "checks" in loads else 1, port, weight)
                master.process.send_signal(signal.SIGHUP)
                counts["reloads"] += 1

        threads = [threading.Thread(target=status_load), threading.Thread(target=reload_load)]
        started = time.time()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        ended = time.time()
        time.sleep(0.2)
        capture.terminate()
        capture.wait(timeout=10)

        adverts = [t for t in read_pcap(pcap) if started <= t <= ended]
        gaps = sorted((b - a) * 1000 for a, b in zip(adverts, adverts[1:]))
        status = master.status()
        reloaded = master.event_count("config.reloaded")
        spurious_backup = backup.event_count("vrrp.transition") - backup_transitions
        spurious_master = master.event_count("vrrp.transition") - master_transitions
        up = sum(1 for r in status.get("real_servers", []) if r.get("state") in ("up", "UP"))
        median = gaps[len(gaps) // 2] if gaps else float("nan")
        print(f"vrrp_jitter: interval={interval} window={seconds:g}s loads={','.join(loads)} "
              f"sched={'SCHED_FIFO' if realtime else 'SCHED_OTHER'} real_servers={real_servers} "
              f"(~{real_servers} TCP checks/s, {up} up) status={counts['status'] / seconds:.0f}/s "
              f"answered (failed {counts['status_failed']}, not sent with 32 waiting "
              f"{counts['status_not_sent']}; latency ms median {percentile(sorted(latencies), 50):.0f} "
              f"p99 {percentile(sorted(latencies), 99):.0f}) reloads={counts['reloads']} "
              f"(applied {reloaded})")
        print(f"vrrp_jitter: interval={interval} adverts={len(adverts)} gap_ms median={median:.2f} "
              f"p99={percentile(gaps, 99):.2f} p99.9={percentile(gaps, 99.9):.2f} "
              f"max={gaps[-1] if gaps else float('nan'):.2f}; spurious transitions: "
              f"backup={spurious_backup} master={spurious_master}")
        server.stdin.close()
        return gaps, spurious_backup
    finally:
        the_lab.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", help="the build folder (holds src/vigil, bench/)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--real-servers", type=int, default=1000)
    parser.add_argument("--intervals", default="100ms,10ms")
    parser.add_argument("--no-realtime", action="store_true")
    parser.add_argument("--loads", default="checks,status,reload",
                        help="which loads to run (to find which one costs the jitter)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("vrrp_jitter: needs root (network namespaces)", file=sys.stderr)
        return 77
    vigil = os.path.abspath(os.path.join(args.build, "src", "vigil"))
    server_bin = os.path.abspath(os.path.join(args.build, "bench", "checkers_bench_server"))
    for interval in args.intervals.split(","):
        run_window(vigil, server_bin, interval, args.seconds, args.real_servers,
                   not args.no_realtime, args.loads.split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main())
