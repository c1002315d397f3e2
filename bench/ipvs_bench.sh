#!/bin/bash
# Boots the IPVS guest once and runs bench/ipvs_bench.cpp in it: vigil's reconciler against
# `ipvsadm -R` on 10,000 destinations. Usage: bench/ipvs_bench.sh [BUILD_DIR] [ROUNDS]
# Needs root the first time (the kernel is fetched into $VIGIL_IPVS_VM_CACHE, default
# /var/cache/vigil-ipvs-vm). Prints RESULT lines; exit 3 when the target ratio is missed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
exec "$root/tests/ipvs-vm/vm.sh" run --timeout 900 --mem 1024 --log "$work/console.log" \
  --add "$build/bench/ipvs_bench" -- "ipvs_bench $rounds"
