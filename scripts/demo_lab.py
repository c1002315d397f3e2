#!/usr/bin/python3
"""The demo's lab: two directors running vigil and a client, in network namespaces.

  scripts/demo_lab.py build/src/vigil      (as root; scripts/demo.sh runs it)

Shows the election, a crash of the MASTER (SIGKILL) with the BACKUP taking the VIP and the client's
ARP cache following it, the old master coming back (its stale VIP cleaned up) and preempting, and a
clean stop (SIGTERM) handing over within Skew_Time. Everything is removed afterwards.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from lab import lab, run, vigil_node, wait_for  # noqa: E402

VIP = "10.99.0.100"
BOLD, RESET = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def step(text):
    print(f"\n{BOLD}== {text}{RESET}", flush=True)


def director(priority):
    return (f'[[vrrp_instance]]\nname = "VI_1"\ninterface = "eth0"\nvirtual_router_id = 51\n'
            f'priority = {priority}\nversion = 3\nadvert_interval = "100ms"\n'
            f'virtual_ipaddress = ["{VIP}/24"]\n')


def show_status(node):
    print(run(node.vigil, "status", "-s", node.socket).stdout, end="", flush=True)


def client_sees(the_lab):
    client = the_lab["client"]
    client.exec("ping", "-c1", "-W1", "-q", VIP, check=False)
    neighbour = client.exec("ip", "neigh", "show", VIP).stdout.split()
    mac = neighbour[neighbour.index("lladdr") + 1] if "lladdr" in neighbour else "?"
    owner = next((name for name, h in the_lab.hosts.items() if h.mac() == mac), "nobody")
    print(f"client: {VIP} is at {mac} ({owner})", flush=True)


def timed(predicate, what):
    start = time.monotonic()
    wait_for(predicate, 10, what, interval=0.002)
    return (time.monotonic() - start) * 1000


def main():
    vigil = os.path.abspath(sys.argv[1])
    step("a lab of namespaces: directors lb1 and lb2, a client, one bridge")
    the_lab = lab(hosts=("lb1", "lb2", "client"))
    try:
        lb1, lb2 = the_lab["lb1"], the_lab["lb2"]
        for h in the_lab.hosts.values():
            print(f"{h.name:<7} {h.ipv4:<11} {h.mac()}")

        step("vigil on both directors: VRRPv3, VIP 10.99.0.100, lb1 priority 150, lb2 100")
        a = vigil_node(vigil, lb1, director(150)).start()
        b = vigil_node(vigil, lb2, director(100)).start()
        wait_for(lambda: lb1.has(VIP), 5, "the election")
        time.sleep(0.5)
        show_status(a)
        show_status(b)
        client_sees(the_lab)

        step("kill -9 the MASTER (lb1): lb2 takes over after Master_Down_Interval (~361 ms)")
        a.kill()
        print(f"lb2 has the VIP {timed(lambda: lb2.has(VIP), 'lb2 to take over'):.0f} ms later; "
              "its gratuitous ARP moved the client:")
        time.sleep(0.3)
        show_status(b)
        client_sees(the_lab)

        step("lb1 comes back: removes the VIP its dead predecessor left, then preempts lb2")
        earlier = len(a.events())
        a = vigil_node(vigil, lb1, director(150)).start()
        wait_for(lambda: lb1.has(VIP) and not lb2.has(VIP), 5, "lb1 to preempt")
        time.sleep(0.3)
        for e in a.events()[earlier:]:
            if not e["event"].startswith("vrrp."):
                continue
            print(f"lb1 event {e['event']}: " +
                  ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("ts", "level", "event")))
        show_status(a)
        client_sees(the_lab)

        step("SIGTERM lb1: it resigns with priority 0, lb2 takes over after Skew_Time (~61 ms)")
        a.stop(signal.SIGTERM)
        print(f"lb2 has the VIP {timed(lambda: lb2.has(VIP), 'lb2 to take over'):.0f} ms later")
        show_status(b)
        client_sees(the_lab)
        b.stop(signal.SIGTERM)
    finally:
        step("cleaning up the lab")
        the_lab.close()
        print("done")


if __name__ == "__main__":
    main()
