"""BGP failover times through real BIRD 2 (root): the lab of tests/integration/bgp_test.py (a
router with ECMP and BFD, three directors each with BIRD and vigil), 10 trials of each event, every
time measured on the router's kernel FIB (`ip route show VIP` polled every 5 ms):

- quorum loss (the director's only real server stops; checks every 100 ms, fall 1) -> route gone;
- vigil SIGKILL -> route gone (the liveness TUN device dies with the process);
- director frozen (nftables drops all its packets; BFD 100 ms x 3) -> route gone;
- SIGTERM -> route gone (drain_wait later the daemon exits).

Usage: bench/bgp_failover.py [build/src/vigil] [trials]
"""

import os
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
VIGIL = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(HERE, "..", "build",
                                                                             "src", "vigil")
TRIALS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
sys.argv = [sys.argv[0], VIGIL, os.path.join(HERE, "..")]
import bgp_test  # noqa: E402
import lab as netlab  # noqa: E402

FREEZE = ("table inet freeze {\n"
          " chain in { type filter hook input priority -300; policy drop; }\n"
          " chain out { type filter hook output priority -300; policy drop; }\n}\n")


def report(name, values):
    ms = [v * 1000 for v in values]
    print(f"{name:<34} n={len(ms):<3} median {statistics.median(ms):7.1f} ms   "
          f"max {max(ms):7.1f} ms   min {min(ms):7.1f} ms", flush=True)


def main():
    if os.geteuid() != 0:
        print("needs root")
        return 77
    net = bgp_test.bgp_lab()
    try:
        d1, d2, d3 = (net.directors[n] for n in ("d1", "d2", "d3"))
        quorum, kill, bfd, term = [], [], [], []
        for _ in range(TRIALS):
            quorum.append(net.timed(d2.stop_real_server, 2, 5))
            d2.start_real_server()
            net.wait_hops(3, bgp_test.HOLD_DOWN + 5, "d2 back")
        report("quorum loss -> FIB", quorum)
        for _ in range(TRIALS):
            kill.append(net.timed(lambda: os.kill(d3.process.pid, signal.SIGKILL), 2, 5))
            d3.process.wait(timeout=5)
            d3.events.close()
            d3.start()
            net.wait_hops(3, 10, "d3 back")
        report("vigil SIGKILL -> FIB", kill)
        for _ in range(TRIALS):
            bfd.append(net.timed(lambda: d1.host.exec("nft", "-f", "-", input=FREEZE), 2, 5))
            d1.host.exec("nft", "delete", "table", "inet", "freeze")
            net.wait_hops(3, 20, "d1 back")
        report("director frozen (BFD) -> FIB", bfd)
        for _ in range(TRIALS):
            term.append(net.timed(lambda: d2.process.send_signal(signal.SIGTERM), 2, 5))
            d2.process.wait(timeout=10)
            d2.events.close()
            d2.start()
            net.wait_hops(3, 10, "d2 back")
        report("vigil SIGTERM -> FIB", term)
    finally:
        for d in net.directors.values():
            if d.process and d.process.poll() is None:
                d.process.kill()
                d.process.wait()
        net.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
