#!/bin/bash
# Boots the IPVS guest once and runs bench/ipvs_loop_stall_bench.cpp in it: the worst lateness of
# a 10 ms loop timer while vigil programs, reconciles and removes 10,000 destinations, with the
# kernel calls on the loop and on the worker thread. Usage:
# bench/ipvs_loop_stall_bench.sh [BUILD_DIR] [ROUNDS]. Prints RESULT lines.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
exec "$root/tests/ipvs-vm/vm.sh" run --timeout 900 --mem 1024 --log "$work/console.log" \
  --add "$build/bench/ipvs_loop_stall_bench" -- "ipvs_loop_stall_bench $rounds"
