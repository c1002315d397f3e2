#!/usr/bin/env bash
# Runs the IPVS lab (scripts/ipvs_lab.sh) with real traffic through real IPVS: on the host when its
# kernel has IPVS, otherwise inside a qemu guest booting Debian's kernel (tests/ipvs-vm/vm.sh), with
# the guest's output streamed to the terminal. Exit status: the lab's (0 when every step checked
# out). Run as root.
#   scripts/ipvs_demo.sh VIGIL_BINARY
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vigil=$(realpath "$1")
if ((EUID != 0)); then
  echo "ipvs_demo: the lab needs root (network namespaces, IPVS); skipping" >&2
  exit 77
fi

if modprobe -q ip_vs 2>/dev/null && [[ -e /proc/net/ip_vs ]]; then
  echo "this kernel has IPVS: the lab runs on the host, in network namespaces"
  exec "$root/scripts/ipvs_lab.sh" "$vigil"
fi

echo "this kernel has no IPVS: the lab runs inside a qemu guest booting Debian's kernel"
# vm.sh fetches the guest kernel on first use (apt-get download, into /var/cache/vigil-ipvs-vm).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/tests/ipvs-vm/vm.sh" run --stream --timeout 300 --mem 768 --modules "veth bridge" \
  --log "$work/console.log" \
  --add "$vigil:/usr/local/bin/vigil" \
  --add "$(command -v ip):/usr/sbin/ip2" \
  --add "$root/scripts/ipvs_lab.sh:/usr/local/bin/ipvs_lab.sh" \
  -- 'IP=/usr/sbin/ip2 ipvs_lab.sh /usr/local/bin/vigil'
