#!/usr/bin/python3
"""VRRP failover time and stability, vigil beside keepalived, in a namespace lab. Run as root.

  bench/vrrp_failover.py [--vigil build/src/vigil] [--trials 10] [--intervals 1,0.1,0.01]
                         [--peers vigil,keepalived] [--soak 300]

Failover: the master (priority 150) is killed with SIGKILL and the time until the backup
(priority 100) has the VIP is taken from the kernel's address events (`ip -ts monitor address`),
beside the theory: Master_Down_Interval = 3 x interval + (256 - 100) / 256 x interval after the
master's last advert, so a kill lands anywhere in [MDI - interval, MDI] after it.

Soak: a vigil pair at 10 ms adverts for --soak seconds while a busy loop holds the other core;
every transition after the initial election is spurious.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from lab import keepalived_node, lab, vigil_node, wait_for  # noqa: E402

VIP = "10.99.0.100"


def vigil_config(priority, interval):
    return (f'[[vrrp_instance]]\nname = "VI_1"\ninterface = "eth0"\nvirtual_router_id = 51\n'
            f'priority = {priority}\nversion = 3\nadvert_interval = "{int(interval * 1000)}ms"\n'
            f'virtual_ipaddress = ["{VIP}/24"]\n')


def keepalived_config(priority, interval):
    return (f"vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n"
            f"    virtual_router_id 51\n    priority {priority}\n    advert_int {interval}\n"
            f"    virtual_ipaddress {{\n        {VIP}/24 dev eth0\n    }}\n}}\n")


def start(peer, host, priority, interval, vigil):
    if peer == "vigil":
        return vigil_node(vigil, host, vigil_config(priority, interval)).start()
    return keepalived_node(host, keepalived_config(priority, interval), version=3).start()


def vip_added_after(the_lab, host_name, since):
    for start_time, _ in the_lab.vip_intervals(VIP).get(host_name, []):
        if start_time >= since:
            return start_time
    return None


def failover_trials(peer, interval, trials, vigil):
    the_lab = lab(hosts=("n1", "n2"))
    n1, n2 = the_lab["n1"], the_lab["n2"]
    results = []
    try:
        backup = start(peer, n2, 100, interval, vigil)
        for _ in range(trials):
            master = start(peer, n1, 150, interval, vigil)
            wait_for(lambda: n1.has(VIP) and not n2.has(VIP), 10 + 5 * interval,
                     "n1 master, n2 backup")
            time.sleep(max(0.3, 3 * interval))  # steady state
            killed_at = time.time()
            master.kill()
            wait_for(lambda: n2.has(VIP), 10 + 5 * interval, "n2 to take the VIP")
            time.sleep(0.05)  # let the monitor write the event
            added = vip_added_after(the_lab, "n2", killed_at)
            results.append(added - killed_at)
            # A killed node leaves its VIP behind; clear it before the next trial.
            n1.exec("ip", "addr", "del", f"{VIP}/24", "dev", "eth0", check=False)
        if peer == "vigil":
            backup.stop()
        else:
            backup.stop()
    finally:
        the_lab.close()
    return results


def soak(seconds, vigil):
    the_lab = lab(hosts=("n1", "n2"))
    busy = subprocess.Popen(["/usr/bin/python3", "-c", "while True: pass"])
    try:
        a = start("vigil", the_lab["n1"], 150, 0.01, vigil)
        b = start("vigil", the_lab["n2"], 100, 0.01, vigil)
        wait_for(lambda: the_lab["n1"].has(VIP), 5, "the initial election")
        time.sleep(0.5)
        before = len(a.events("vrrp.transition")) + len(b.events("vrrp.transition"))
        time.sleep(seconds)
        after = len(a.events("vrrp.transition")) + len(b.events("vrrp.transition"))
        drops = (a.status()["vrrp_instances"][0]["dropped"], b.status()["vrrp_instances"][0]["dropped"])
        a.stop()
        b.stop()
        return after - before, drops
    finally:
        busy.send_signal(signal.SIGKILL)
        busy.wait()
        the_lab.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vigil", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                        "src", "vigil"))
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--intervals", default="1,0.1,0.01")
    parser.add_argument("--peers", default="vigil,keepalived")
    parser.add_argument("--soak", type=float, default=300)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the lab uses network namespaces")
    vigil = os.path.abspath(args.vigil)

    print(f"SIGKILL failover, master priority 150 -> backup priority 100, {args.trials} trials")
    print(f"{'peer':<11}{'interval':>9}{'MDI':>10}{'median':>10}{'min':>10}{'max':>10}"
          f"{'median-MDI':>12}")
    for interval in [float(i) for i in args.intervals.split(",")]:
        mdi = 3 * interval + (256 - 100) / 256 * interval
        for peer in args.peers.split(","):
            times = failover_trials(peer, interval, args.trials, vigil)
            median = statistics.median(times)
            print(f"{peer:<11}{interval * 1000:>7.0f}ms{mdi * 1000:>8.1f}ms{median * 1000:>8.1f}ms"
                  f"{min(times) * 1000:>8.1f}ms{max(times) * 1000:>8.1f}ms"
                  f"{(median - mdi) * 1000:>10.1f}ms", flush=True)
    if args.soak > 0:
        transitions, drops = soak(args.soak, vigil)
        print(f"soak: vigil pair at 10ms adverts for {args.soak:.0f}s with the other core busy: "
              f"{transitions} spurious transitions; drops {drops}")


if __name__ == "__main__":
    main()
