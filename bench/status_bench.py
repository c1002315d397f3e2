#!/usr/bin/python3
"""vigil status at scale: a daemon with N real servers (default 10,000) whose TCP checks run every
second against a loopback server, asked for `vigil status --json` repeatedly. Prints the reply
size and the time per status (median, p90, max), and whether every reply was complete.

    bench/status_bench.py BUILD_DIR [--real-servers N] [--requests K]

Target (hostile-input issue): 10,000 real servers in under 300 ms while their checks run."""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", help="the build folder (holds src/vigil)")
    parser.add_argument("--real-servers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--interval", default="1s")
    args = parser.parse_args()
    vigil = os.path.join(args.build, "src", "vigil")
    server_bin = os.path.join(args.build, "bench", "checkers_bench_server")

    tmp = tempfile.mkdtemp(prefix="vigil-status-bench-")
    server = subprocess.Popen([server_bin], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    try:
        os.mkdir(os.path.join(tmp, "conf.d"))
        sock = os.path.join(tmp, "vigil.sock")
        with open(os.path.join(tmp, "vigil.toml"), "w") as f:
            f.write(f'[global]\ncontrol_socket = "{sock}"\nstate_dir = "{tmp}/state"\n'
                    'include = ["conf.d/*.toml"]\n[global.ipvs]\nbackend = "memory"\n'
                    '[global.log]\nformat = "json"\nlevel = "warning"\n')
        per_file = 1000
        for v in range((args.real_servers + per_file - 1) // per_file):
            with open(os.path.join(tmp, "conf.d", f"vs{v}.toml"), "w") as f:
                f.write(f'[virtual_server]\naddress = "10.200.{v // 250}.{v % 250 + 1}:{port}"\n'
                        f'protocol = "tcp"\ncheck = {{ type = "tcp", interval = "{args.interval}", '
                        'timeout = "1s", rise = 1, fall = 3 }\n')
                for i in range(min(per_file, args.real_servers - v * per_file)):
                    n = v * per_file + i
                    f.write('[[virtual_server.real_server]]\n'
                            f'address = "127.{10 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}:{port}"\n')
        log = open(os.path.join(tmp, "events.log"), "w")
        daemon = subprocess.Popen([vigil, "run", "-c", os.path.join(tmp, "vigil.toml")],
                                  stderr=log, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(5)  # every check has run a few times

        def ask():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(30)
                s.connect(sock)
                started = time.monotonic()
                s.sendall(b'{"command":"status"}\n')
                reply = bytearray()
                while not reply.endswith(b"\n"):
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    reply += chunk
                return time.monotonic() - started, bytes(reply)

        times, complete, size = [], 0, 0
        for _ in range(args.requests):
            elapsed, reply = ask()
            times.append(elapsed * 1000)
            size = len(reply)
            try:
                document = json.loads(reply)
                complete += len(document["real_servers"]) == args.real_servers
            except ValueError:
                pass
            time.sleep(0.2)
        times.sort()
        down = sum(1 for line in open(os.path.join(tmp, "events.log")) if "real_server.down" in line)
        print(f"status_bench: real_servers={args.real_servers} checks every {args.interval} "
              f"reply={size / 1e6:.1f} MB complete={complete}/{args.requests}")
        print(f"status_bench: ms per status median={statistics.median(times):.0f} "
              f"p90={times[int(len(times) * 0.9) - 1]:.0f} max={times[-1]:.0f} "
              f"(target < 300 ms); real_server.down during the run: {down}")
        daemon.terminate()
        daemon.wait(timeout=30)
    finally:
        server.stdin.close()
        server.wait()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
