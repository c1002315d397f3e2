#!/usr/bin/python3
"""Captures golden vectors from Debian's keepalived in a namespace lab (run as root, once; the
results are committed beside this script and the tests only read them).

  tests/data/vrrp/capture.py

Writes, in the format of the other .hex vectors here ("# frame", "# ipv4|ipv6 ...", "vrrp" or
"icmp6" payload line):
  vrrpv3-unicast.hex   keepalived's VRRPv3 advert to a unicast peer (v3 checksum over the peer's
                       address)
  vrrpv2-unicast.hex   the same in VRRPv2
  unsolicited-na.hex   the unsolicited neighbour advertisement keepalived sends for an IPv6 VIP
"""

import ipaddress
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
from lab import keepalived_node, lab, wait_for  # noqa: E402


def capture(host, bpf, count=1, timeout=15):
    """Frames (bytes) tcpdump sees on host's eth0."""
    with tempfile.NamedTemporaryFile(suffix=".pcap") as pcap:
        host.exec("timeout", str(timeout), "tcpdump", "-i", "eth0", "-n", "-c", str(count),
                  "-w", pcap.name, bpf, check=False)
        data = open(pcap.name, "rb").read()
    frames, offset = [], 24
    while offset + 16 <= len(data):
        _, _, included, _ = struct.unpack("<IIII", data[offset:offset + 16])
        offset += 16
        frames.append(data[offset:offset + included])
        offset += included
    return frames


def describe(frame, payload_name):
    lines = [f"# frame ({len(frame)} bytes): {frame.hex()}"]
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:
        header_length = (frame[14] & 0xF) * 4
        ip = frame[14:14 + header_length]
        lines.append(f"# ipv4 src={ipaddress.IPv4Address(ip[12:16])} "
                     f"dst={ipaddress.IPv4Address(ip[16:20])} ttl={ip[8]} proto={ip[9]}")
        payload = frame[14 + header_length:14 + struct.unpack("!H", ip[2:4])[0]]
    else:
        ip = frame[14:54]
        lines.append(f"# ipv6 src={ipaddress.IPv6Address(ip[8:24])} "
                     f"dst={ipaddress.IPv6Address(ip[24:40])} hlim={ip[7]} next={ip[6]}")
        payload = frame[54:54 + struct.unpack("!H", ip[4:6])[0]]
    lines.append(f"{payload_name} {payload.hex()}")
    return "\n".join(lines) + "\n"


def unicast(version, interval):
    the_lab = lab(hosts=("n1", "n2"))
    try:
        n1, n2 = the_lab["n1"], the_lab["n2"]
        body = (f"vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n"
                f"    virtual_router_id 51\n    priority 150\n    advert_int {interval}\n"
                f"    unicast_src_ip {n1.ipv4}\n    unicast_peer {{\n        {n2.ipv4}\n    }}\n"
                f"    virtual_ipaddress {{\n        10.99.0.100/24 dev eth0\n    }}\n}}\n")
        k = keepalived_node(n1, body, version=version).start()
        wait_for(lambda: n1.has("10.99.0.100"), 10, "keepalived to become master")
        frame = capture(n2, "ip proto 112")[0]
        k.stop()
        return frame
    finally:
        the_lab.close()


def neighbour_advert():
    the_lab = lab(hosts=("n1", "n2"), ipv6=True)
    try:
        n1, n2 = the_lab["n1"], the_lab["n2"]
        body = ("vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n"
                "    virtual_router_id 51\n    priority 150\n    advert_int 0.1\n"
                "    virtual_ipaddress {\n        fd00:99::100/64 dev eth0\n    }\n}\n")
        k = keepalived_node(n1, body, version=3)
        frames = []
        sniffer = subprocess.Popen(
            ["ip", "netns", "exec", n2.netns, "timeout", "15", "tcpdump", "-i", "eth0", "-n",
             "-c", "1", "-w", "/tmp/vigil-na.pcap", "icmp6 and ip6[40] == 136"],
            stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        k.start()
        sniffer.wait(timeout=20)
        data = open("/tmp/vigil-na.pcap", "rb").read()
        os.remove("/tmp/vigil-na.pcap")
        _, _, included, _ = struct.unpack("<IIII", data[24:40])
        frames.append(data[40:40 + included])
        k.stop()
        return frames[0]
    finally:
        the_lab.close()


def main():
    if os.geteuid() != 0:
        sys.exit("run as root")
    for name, frame, payload in [
        ("vrrpv3-unicast", unicast(3, 1), "vrrp"),
        ("vrrpv2-unicast", unicast(2, 1), "vrrp"),
        ("unsolicited-na", neighbour_advert(), "icmp6"),
    ]:
        with open(os.path.join(HERE, f"{name}.hex"), "w") as f:
            f.write(f"# captured from Debian keepalived by capture.py\n" + describe(frame, payload))
        print(f"{name}: {len(frame)} bytes")


if __name__ == "__main__":
    main()
