#!/bin/bash
# ctest entry for the label ipvs-vm: one guest boot runs every real-kernel IPVS test.
#   run-suite.sh GUEST_TEST_BINARY
# The kernel is fetched once (apt-get download) into $VIGIL_IPVS_VM_CACHE, default
# /var/cache/vigil-ipvs-vm, outside the source and build trees. Exit 77 (skipped) only when not
# root and the cache is missing; scripts/test.sh refuses skips under CI=true.
set -u
here=$(cd "$(dirname "$0")" && pwd)
binary=$1
cache=${VIGIL_IPVS_VM_CACHE:-/var/cache/vigil-ipvs-vm}

# vm.sh fetches the kernel on first use; without root it may not be able to.
if ! ls "$cache"/kernel/lib/modules/*/modules.dep >/dev/null 2>&1 &&
  ((EUID != 0)) && ! mkdir -p "$cache" 2>/dev/null; then
  echo "ipvs-vm: no kernel in $cache and not root to fetch it; skipping" >&2
  exit 77
fi
for tool in qemu-system-x86_64 busybox cpio ipvsadm; do
  command -v "$tool" >/dev/null || { echo "ipvs-vm: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
ip2=$(command -v ip)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/vm.sh" run --timeout 420 --mem 768 --modules "veth" --log "$work/console.log" \
  --add "$binary:/usr/local/bin/ipvs_guest_tests" \
  --add "$ip2:/usr/sbin/ip2" \
  --add "$here/nat-lab.sh:/usr/local/bin/nat-lab.sh" \
  -- 'ipvs_guest_tests --no-colors=true'
