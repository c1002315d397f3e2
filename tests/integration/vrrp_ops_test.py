#!/usr/bin/python3
"""VRRP operations for real, in network namespaces: weighted trackers (script, file, interface),
notify programs, sync groups against keepalived, and split-brain healing after an nftables
partition."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab import keepalived_node, lab, vigil_node, wait_for  # noqa: E402

VIGIL = sys.argv[1]
VIP = "10.99.0.100"
VIP2 = "10.99.0.200"


def instance(priority, extra="", name="VI_1", vrid=51, vip=VIP):
    return (f'[[vrrp_instance]]\nname = "{name}"\ninterface = "eth0"\nvirtual_router_id = {vrid}\n'
            f'priority = {priority}\nversion = 3\nadvert_interval = "100ms"\n'
            f'virtual_ipaddress = ["{vip}/24"]\n{extra}\n')


class ops_case(unittest.TestCase):
    def setUp(self):
        self.lab = lab()
        self.dir = self.lab.dir

    def tearDown(self):
        self.lab.close()

    def path(self, name):
        return os.path.join(self.dir, name)

    def master_is(self, host, vip=VIP):
        others = [h for h in self.lab.hosts.values() if h is not host]
        return host.has(vip) and not any(h.has(vip) for h in others)


class trackers(ops_case):
    def test_script_and_file_trackers_move_the_priority(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        healthy = self.path("service-ok")
        open(healthy, "w").close()
        drain = self.path("drain")
        a = vigil_node(VIGIL, n1, instance(150, extra=(
            f'track_script = [{{ name = "service", command = ["/usr/bin/test", "-e", "{healthy}"],'
            f' interval = "100ms", fall = 2, rise = 2, weight = -60 }}]\n'
            f'track_file = [{{ path = "{drain}", weight = -1 }}]\n'))).start()
        b = vigil_node(VIGIL, n2, instance(100)).start()
        wait_for(lambda: self.master_is(n1), 5, "n1 to be master")
        self.assertEqual(a.status()["vrrp_instances_by_name"]["VI_1"]["priority"], 150)

        # The service dies: after `fall` failures n1 drops to 90 and n2 (100) preempts it.
        os.remove(healthy)
        wait_for(lambda: self.master_is(n2), 5, "n2 to take over from a failing service")
        status = a.status()["vrrp_instances_by_name"]["VI_1"]
        self.assertEqual(status["priority"], 90)
        script = next(t for t in status["trackers"] if t["kind"] == "script")
        self.assertFalse(script["healthy"])
        self.assertIn({"instance": "VI_1", "from": 150, "to": 90},
                      [{k: e[k] for k in ("instance", "from", "to")}
                       for e in a.events("vrrp.priority_changed")])

        # It comes back: n1 returns to 150 and preempts.
        open(healthy, "w").close()
        wait_for(lambda: self.master_is(n1), 5, "n1 to preempt when healthy again")

        # Draining by writing a number: 150 - 100 = 50 < 100.
        with open(drain + ".tmp", "w") as f:
            f.write("100\n")
        os.rename(drain + ".tmp", drain)  # as editors and config tools replace files
        wait_for(lambda: self.master_is(n2), 5, "n2 to take over from a drained n1")
        self.assertEqual(a.status()["vrrp_instances_by_name"]["VI_1"]["priority"], 50)
        with open(drain, "w") as f:
            f.write("0\n")
        wait_for(lambda: self.master_is(n1), 5, "n1 back after undrain")
        b.stop()

    def test_a_tracked_interface_with_weight_0_faults_the_instance(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        n1.exec("ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0p")
        n1.exec("ip", "link", "set", "uplink0p", "up")
        n1.exec("ip", "link", "set", "uplink0", "up")
        a = vigil_node(VIGIL, n1, instance(150, extra='track_interface = ["uplink0"]\n')).start()
        vigil_node(VIGIL, n2, instance(100)).start()
        wait_for(lambda: self.master_is(n1), 5, "n1 to be master")
        n1.exec("ip", "link", "set", "uplink0", "down")
        wait_for(lambda: self.master_is(n2), 3, "n2 to take over when n1's uplink fails")
        self.assertEqual(a.state(), "FAULT")
        transitions = [(e["from"], e["to"], e["reason"]) for e in a.events("vrrp.transition")]
        self.assertIn(("MASTER", "FAULT", "tracker_fault"), transitions)
        n1.exec("ip", "link", "set", "uplink0", "up")
        wait_for(lambda: self.master_is(n1), 5, "n1 back when its uplink returns")


class reload(ops_case):
    def reload(self, node, old, new, outcome="config.reloaded"):
        with open(node.config) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(node.config, "w") as f:
            f.write(text.replace(old, new))
        before = node.event_count(outcome)
        node.process.send_signal(signal.SIGHUP)
        wait_for(lambda: node.event_count(outcome) > before, 5, outcome)
        return node.events(outcome)[-1]

    def keepalived_backup(self, host):
        # skip_check_adv_addr: keepalived checks the master's address list only when the master
        # changes, so a master whose list changes keeps being heard (vigil and keepalived both
        # drop adverts whose list differs from theirs otherwise).
        return keepalived_node(host, (
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n"
            "    virtual_router_id 51\n    priority 100\n    advert_int 0.1\n"
            "    skip_check_adv_addr\n"
            f"    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"), version=3).start()

    def keepalived_states(self, node):
        with open(os.path.join(node.dir, "keepalived.log")) as f:
            return [line.split("Entering ")[1].split()[0] for line in f if "Entering " in line]

    def test_a_masters_vip_list_changes_in_place_with_no_transition_on_either_node(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        a = vigil_node(VIGIL, n1, instance(150)).start()
        k = self.keepalived_backup(n2)
        wait_for(lambda: self.master_is(n1), 5, "n1 to be master")
        time.sleep(0.5)  # keepalived has heard the master
        before = a.status()["vrrp_instances_by_name"]["VI_1"]
        self.assertEqual(self.keepalived_states(k), ["BACKUP"])

        # One VIP added: only it is added (and announced); VIP stays where it is.
        self.reload(a, f'["{VIP}/24"]', f'["{VIP}/24", "{VIP2}/24"]')
        wait_for(lambda: n1.has(VIP2), 3, "the added VIP on the master")
        time.sleep(1)  # ten adverts carrying the new list
        self.assertTrue(self.master_is(n1, VIP) and self.master_is(n1, VIP2))
        # One removed: only it leaves.
        self.reload(a, f'["{VIP}/24", "{VIP2}/24"]', f'["{VIP2}/24"]')
        wait_for(lambda: not n1.has(VIP), 3, "the removed VIP to leave the master")
        time.sleep(1)
        self.assertTrue(self.master_is(n1, VIP2))
        self.assertFalse(n2.has(VIP))

        status = a.status()["vrrp_instances_by_name"]["VI_1"]
        self.assertEqual((status["state"], status["since"], status["transitions"]),
                         ("MASTER", before["since"], before["transitions"]))
        self.assertEqual(status["vips"], [f"{VIP2}/24"])
        self.assertEqual([(e["from"], e["to"]) for e in a.events("vrrp.transition")],
                         [("INIT", "BACKUP"), ("BACKUP", "MASTER")])
        self.assertEqual([(e["event"], e["address"], e["reason"])
                          for e in a.events() if e["event"] in ("vrrp.vip_added",
                                                                "vrrp.vip_removed")],
                         [("vrrp.vip_added", f"{VIP}/24", "became_master"),
                          ("vrrp.vip_added", f"{VIP2}/24", "reload"),
                          ("vrrp.vip_removed", f"{VIP}/24", "reload")])
        self.assertEqual(self.keepalived_states(k), ["BACKUP"])
        k.stop()

    def test_a_reload_adding_an_instance_on_a_missing_interface_is_rejected(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        a = vigil_node(VIGIL, n1, instance(150)).start()
        b = vigil_node(VIGIL, n2, instance(100)).start()
        wait_for(lambda: self.master_is(n1), 5, "n1 to be master")
        before = a.status()["vrrp_instances_by_name"]["VI_1"]

        # The same reload changes the running instance too: none of it may apply.
        second = instance(150, name="VI_2", vrid=52, vip=VIP2).replace('"eth0"', '"eth7"')
        rejected = self.reload(a, f'["{VIP}/24"]\n', f'["{VIP}/24", "10.99.0.101/24"]\n{second}',
                               outcome="config.rejected")
        self.assertEqual(rejected["diagnostics"],
                         [f"{a.config}: error: instance VI_2: interface eth7 does not exist"])
        time.sleep(0.5)
        status = a.status()
        self.assertEqual(list(status["vrrp_instances_by_name"]), ["VI_1"])
        vi1 = status["vrrp_instances_by_name"]["VI_1"]
        self.assertEqual((vi1["state"], vi1["since"], vi1["transitions"], vi1["vips"]),
                         ("MASTER", before["since"], before["transitions"], [f"{VIP}/24"]))
        self.assertEqual((status["config"]["reloads_applied"], status["config"]["reloads_rejected"]),
                         (0, 1))
        self.assertTrue(self.master_is(n1))
        self.assertFalse(n1.has("10.99.0.101"))
        self.assertEqual(b.state(), "BACKUP")
        self.assertNotIn("shutdown", [e["reason"] for e in a.events("vrrp.transition")])
        self.assertEqual(a.event_count("config.reloaded"), 0)

        # Once the interface exists the same config applies, and VI_1 still never resigned.
        n1.exec("ip", "link", "add", "eth7", "type", "veth", "peer", "name", "eth7p")
        n1.exec("ip", "link", "set", "eth7p", "up")
        n1.exec("ip", "link", "set", "eth7", "up")
        n1.exec("ip", "addr", "add", "10.98.0.1/24", "dev", "eth7")
        before_reloaded = a.event_count("config.reloaded")
        a.process.send_signal(signal.SIGHUP)
        wait_for(lambda: a.event_count("config.reloaded") > before_reloaded, 5, "config.reloaded")
        wait_for(lambda: n1.has("10.99.0.101"), 3, "VI_1's added VIP")
        status = a.status()["vrrp_instances_by_name"]
        self.assertIn("VI_2", status)
        self.assertEqual((status["VI_1"]["state"], status["VI_1"]["since"]),
                         ("MASTER", before["since"]))
        b.stop()

    def test_a_priority_change_applies_in_place_without_a_failover(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        a = vigil_node(VIGIL, n1, instance(150)).start()
        b = vigil_node(VIGIL, n2, instance(100)).start()
        wait_for(lambda: self.master_is(n1), 5, "n1 to be master")
        before = a.status()["vrrp_instances_by_name"]["VI_1"]

        # Still above the backup: nothing moves, and the master never resigned.
        self.reload(a, "priority = 150", "priority = 120")
        wait_for(lambda: a.status()["vrrp_instances_by_name"]["VI_1"]["priority"] == 120, 3,
                 "priority 120")
        time.sleep(0.5)  # five adverts at the new priority
        status = a.status()["vrrp_instances_by_name"]["VI_1"]
        self.assertEqual((status["state"], status["since"], status["transitions"]),
                         ("MASTER", before["since"], before["transitions"]))
        self.assertTrue(self.master_is(n1))
        self.assertEqual(b.state(), "BACKUP")
        self.assertNotIn("shutdown", [e["reason"] for e in a.events("vrrp.transition")])

        # Below the backup: the backup preempts on the lower adverts; still no resignation.
        self.reload(a, "priority = 120", "priority = 50")
        wait_for(lambda: self.master_is(n2), 5, "n2 to preempt a master now at priority 50")
        self.assertEqual(a.state(), "BACKUP")
        self.assertEqual([(e["from"], e["to"], e["reason"]) for e in a.events("vrrp.transition")],
                         [("INIT", "BACKUP", "startup"), ("BACKUP", "MASTER", "master_down"),
                          ("MASTER", "BACKUP", "higher_priority")])
        self.assertEqual([(e["from"], e["to"]) for e in a.events("vrrp.priority_changed")],
                         [(150, 120), (120, 50)])

        # A VIP list change applies on the new master too.
        self.reload(b, f'["{VIP}/24"]', f'["{VIP}/24", "{VIP2}/24"]')
        wait_for(lambda: n2.has(VIP2) or n1.has(VIP2), 5, "the new VIP on the master")


class notify(ops_case):
    def test_notify_programs_run_in_order_for_every_transition_and_on_stop(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        log = self.path("notify.log")
        # A program with arguments, run without a shell by vigil (the shell here is the program).
        record = f'["/bin/sh", "-c", "echo \\"$*\\" $VIGIL_REASON >> {log}", "notify"]'
        slow = f'["/bin/sh", "-c", "sleep 0.3; echo master-done >> {log}"]'
        a = vigil_node(VIGIL, n1, instance(
            150, extra=f"notify = {record}\nnotify_master = {slow}\n"
                       f'notify_stop = ["/bin/sh", "-c", "sleep 0.2; echo stopped >> {log}"]\n'
        )).start()
        wait_for(lambda: n1.has(VIP), 5, "n1 to be master")
        b = vigil_node(VIGIL, n2, instance(200)).start()
        wait_for(lambda: self.master_is(n2), 5, "n2 to take over")
        self.assertEqual(a.stop(signal.SIGTERM), 0)
        with open(log) as f:
            lines = f.read().splitlines()
        # In transition order, the slow MASTER program finishing before BACKUP's notify starts,
        # and the STOP program completed before vigil exited.
        self.assertEqual(lines, [
            "INSTANCE VI_1 BACKUP 150 startup",
            "INSTANCE VI_1 MASTER 150 master_down",
            "master-done",
            "INSTANCE VI_1 BACKUP 150 higher_priority",
            "INSTANCE VI_1 STOP 150 shutdown",
            "stopped",
        ])
        b.stop()


class sync_group_with_keepalived(ops_case):
    def test_the_group_moves_together(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        n1.exec("ip", "link", "add", "inside0", "type", "veth", "peer", "name", "inside0p")
        n1.exec("ip", "link", "set", "inside0p", "up")
        n1.exec("ip", "link", "set", "inside0", "up")
        config = (instance(150, name="EXT", vrid=51, vip=VIP) +
                  instance(150, name="INT", vrid=52, vip=VIP2,
                           extra='track_interface = ["inside0"]\n') +
                  '[[vrrp_sync_group]]\nname = "nat"\ninstances = ["EXT", "INT"]\n')
        v = vigil_node(VIGIL, n1, config).start()
        keepalived_body = ""
        for name, vrid, vip in (("EXT", 51, VIP), ("INT", 52, VIP2)):
            keepalived_body += (f"vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n"
                                f"    virtual_router_id {vrid}\n    priority 100\n"
                                f"    advert_int 0.1\n    virtual_ipaddress {{\n"
                                f"        {vip}/24 dev eth0\n    }}\n}}\n")
        keepalived_body += "vrrp_sync_group nat {\n    group {\n        EXT\n        INT\n    }\n}\n"
        keepalived_node(n2, keepalived_body, version=3).start()
        wait_for(lambda: self.master_is(n1, VIP) and self.master_is(n1, VIP2), 10,
                 "vigil to hold both VIPs")
        status = v.status()["vrrp_instances_by_name"]
        self.assertEqual(status["EXT"]["sync_group"], "nat")

        # The inside link fails: INT faults, and EXT must leave with it.
        n1.exec("ip", "link", "set", "inside0", "down")
        wait_for(lambda: self.master_is(n2, VIP) and self.master_is(n2, VIP2), 5,
                 "keepalived to take both VIPs")
        status = v.status()["vrrp_instances_by_name"]
        self.assertEqual((status["EXT"]["state"], status["INT"]["state"]), ("FAULT", "FAULT"))
        group_events = v.events("vrrp.group_transition")
        self.assertTrue(group_events)
        self.assertIn("EXT=FAULT", group_events[-1]["members"])
        # At no moment did the two VIPs sit on different directors for more than a handover.
        for vip in (VIP, VIP2):
            for start, seconds in self.lab.overlaps(vip, ["n1", "n2"]):
                self.assertLess(seconds, 0.1)

        n1.exec("ip", "link", "set", "inside0", "up")
        wait_for(lambda: self.master_is(n1, VIP) and self.master_is(n1, VIP2), 10,
                 "vigil to take both back")


class split_brain(ops_case):
    def partition(self, host, on):
        if on:
            host.exec("nft", "add table inet partition")
            host.exec("nft", "add chain inet partition input { type filter hook input priority 0; }")
            host.exec("nft", "add rule inet partition input ip protocol vrrp drop")
        else:
            host.exec("nft", "delete table inet partition")

    def test_one_master_within_three_adverts_after_a_partition_heals(self):
        n1, n2 = self.lab["n1"], self.lab["n2"]
        stop_sniffer = None
        vigil_node(VIGIL, n1, instance(150)).start()
        vigil_node(VIGIL, n2, instance(100)).start()
        wait_for(lambda: self.master_is(n1), 5, "n1 to be master")
        self.partition(n1, True)
        self.partition(n2, True)
        wait_for(lambda: n1.has(VIP) and n2.has(VIP), 3, "both sides to become master")
        time.sleep(0.5)
        stop_sniffer = self.lab.sniff("n3", "arp")
        healed = time.monotonic()
        self.partition(n1, False)
        self.partition(n2, False)
        wait_for(lambda: self.master_is(n1), 0.3, "exactly one master within 3 adverts")
        took = time.monotonic() - healed
        time.sleep(1)
        self.assertTrue(self.master_is(n1), "and it stays that way")
        arp = stop_sniffer()
        # The survivor re-announced its VIP so switches and neighbours relearn where it is.
        self.assertIn(f"{n1.mac()} > ff:ff:ff:ff:ff:ff", arp)
        self.assertIn(f"who-has {VIP} (ff:ff:ff:ff:ff:ff) tell {VIP}", arp)
        self.assertLess(took, 0.3)


class virtual_mac_with_keepalived(ops_case):
    def addresses_on(self, host, device):
        out = host.exec("ip", "-o", "addr", "show", "dev", device, check=False).stdout
        return [line.split()[3].split("/")[0] for line in out.splitlines()]

    def test_the_vip_moves_with_the_virtual_mac(self):
        n1, n2, n3 = self.lab["n1"], self.lab["n2"], self.lab["n3"]
        vmac = "00:00:5e:00:01:33"  # VRID 51
        stop_sniffer = self.lab.sniff("n3", "arp or ip proto 112")
        v = vigil_node(VIGIL, n1, instance(150, extra="use_vmac = true\n")).start()
        wait_for(lambda: VIP in self.addresses_on(n1, "vrrp.51"), 5, "the VIP on n1's vrrp.51")
        self.assertFalse(n1.has(VIP), "the VIP sits on the VMAC, not on eth0")
        link = n1.exec("ip", "-o", "link", "show", "dev", "vrrp.51").stdout
        self.assertIn(f"link/ether {vmac}", link)
        k = keepalived_node(n2, (
            "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    use_vmac\n"
            "    virtual_router_id 51\n    priority 100\n    advert_int 0.1\n"
            f"    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"), version=3).start()
        time.sleep(1)
        self.assertNotIn(VIP, self.addresses_on(n2, "vrrp.51"), "keepalived stays backup")

        # The client resolves the VIP to the virtual MAC, and only that.
        n3.exec("ping", "-c1", "-W1", "-q", VIP)
        neighbour = n3.exec("ip", "neigh", "show", VIP).stdout
        self.assertIn(vmac, neighbour)
        traffic = stop_sniffer()
        self.assertIn(f"{vmac} > 01:00:5e:00:00:12", traffic, "adverts leave from the VMAC")
        self.assertIn(f"{vmac} > ff:ff:ff:ff:ff:ff", traffic, "gratuitous ARP from the VMAC")
        self.assertNotIn(f"{n1.mac()} > ", traffic.split("Reply")[0] if "Reply" in traffic else "",
                         "eth0 does not answer for the VIP")

        # Handover: keepalived takes the VIP on its own vrrp.51 and the client still reaches it.
        # (Which MAC keepalived then answers with is keepalived's business: here, its base one.)
        self.assertEqual(v.stop(signal.SIGTERM), 0)
        wait_for(lambda: VIP in self.addresses_on(n2, "vrrp.51"), 3, "keepalived to take over")
        self.assertNotIn("vrrp.51", n1.exec("ip", "-o", "link", "show").stdout,
                         "vigil removes its VMAC on stop")
        self.assertEqual(n1.exec("sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore").stdout.strip(),
                         "0", "and restores the base interface's arp_ignore")
        self.assertEqual(n3.exec("ping", "-c1", "-W2", "-q", VIP, check=False).returncode, 0)
        k.stop()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: network namespaces need root")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0], "-v"])
