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
export VM_DIR=$cache

if ! ls "$cache"/kernel/lib/modules/*/modules.dep >/dev/null 2>&1; then
  if ((EUID != 0)) && ! mkdir -p "$cache" 2>/dev/null; then
    echo "ipvs-vm: no kernel in $cache and not root to fetch it; skipping" >&2
    exit 77
  fi
  "$here/vm.sh" setup || exit 1
fi
for tool in qemu-system-x86_64 busybox cpio ipvsadm; do
  command -v "$tool" >/dev/null || { echo "ipvs-vm: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
ip2=$(command -v ip)

# Stripped copies: a smaller initramfs boots faster under TCG.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$binary" "$work/ipvs_guest_tests" && strip --strip-debug "$work/ipvs_guest_tests"

"$here/vm.sh" run --timeout 420 --mem 768 --modules "veth" --log "$work/console.log" \
  --add "$work/ipvs_guest_tests" \
  --add "$ip2:/usr/sbin/ip2" \
  --add "$here/nat-lab.sh:/usr/local/bin/nat-lab.sh" \
  -- 'ipvs_guest_tests --no-colors=true'
rc=$?
if ((rc == 124)); then
  echo "ipvs-vm: the guest did not finish; last console lines:" >&2
  tail -40 "$work/console.log" >&2
fi
exit $rc
