#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz and runs each for FUZZ_SECONDS (default 20),
# seeded from the golden vectors in tests/data/vrrp. Exits non-zero on any crash or property
# violation; the reproducer lands in build-fuzz/artifacts/. Usage: [FUZZ_SECONDS=N] scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-fuzz
seconds=${FUZZ_SECONDS:-20}
fuzzers=(vrrp_packet_fuzz)

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVIGIL_FUZZ=ON -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF -DVIGIL_SANITIZE=OFF >/dev/null
cmake --build "$build" --target "${fuzzers[@]}"

# Seeds: every captured VRRP payload, and every captured IPv4 datagram (the frame past its 14-byte
# Ethernet header) so the raw-socket split path starts from real headers too.
hex_to_file() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" >"$2"; }
corpus=$build/corpus/vrrp_packet
mkdir -p "$corpus" "$build/artifacts"
for vector in tests/data/vrrp/vrrp*.hex; do
  name=$(basename "$vector" .hex)
  hex_to_file "$(sed -n 's/^vrrp //p' "$vector")" "$corpus/$name.vrrp"
  frame=$(sed -n 's/^# frame ([0-9]* bytes): //p' "$vector")
  if [[ ${frame:24:4} == 0800 ]]; then
    hex_to_file "${frame:28}" "$corpus/$name.ipv4"
  fi
done

for fuzzer in "${fuzzers[@]}"; do
  echo "== $fuzzer for ${seconds}s"
  "$build/tests/fuzz/$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$fuzzer-" "$corpus"
done
