#!/usr/bin/env bash
# ctest entry: the ECMP lab (ecmp_lab.sh) inside a qemu guest booting Debian's kernel (real IPVS),
# with BIRD 2 from the host (Debian bird2) and its libraries copied into the guest.
#   ecmp-lab-vm.sh VIGIL FLOW_ECHO
# Env: ANNOUNCE, TRIALS, FLOWS, BFD_MULTIPLIER (passed to the lab). Exit status: the lab's; 77 (skipped) when not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vigil=$(realpath "$1")
flow_echo=$(realpath "$2")
if ((EUID != 0)); then
  echo "ecmp lab: needs root (network namespaces, IPVS); skipping" >&2
  exit 77
fi
for tool in qemu-system-x86_64 busybox cpio ipvsadm bird birdcl; do
  command -v "$tool" >/dev/null || { echo "ecmp lab: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
trials=${TRIALS:-3}
# A trial takes 15-40 s under TCG, depending on the host's load; twice that with ANNOUNCE=vigil.
per_trial=60
[[ ${ANNOUNCE:-vigil} == vigil ]] && per_trial=120
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/vm.sh" run --stream --timeout $((180 + trials * per_trial)) --mem 768 --modules "veth bridge tun" \
  --log "$work/console.log" \
  --add "$vigil:/usr/local/bin/vigil" \
  --add "$flow_echo:/usr/local/bin/flow_echo" \
  --add "$(command -v ip):/usr/sbin/ip2" \
  --add "$(command -v bird):/usr/sbin/bird" \
  --add "$(command -v birdcl):/usr/sbin/birdcl" \
  --add "$here/ecmp_lab.sh:/usr/local/bin/ecmp_lab.sh" \
  -- "IP=/usr/sbin/ip2 BIRD=/usr/sbin/bird ANNOUNCE=${ANNOUNCE:-vigil} TRIALS=$trials FLOWS=${FLOWS:-30} BFD_MULTIPLIER=${BFD_MULTIPLIER:-10} ecmp_lab.sh /usr/local/bin/vigil /usr/local/bin/flow_echo"
