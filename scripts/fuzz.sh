#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz and runs each for FUZZ_SECONDS (default 20),
# seeded from the golden vectors in tests/data/vrrp. Exits non-zero on any crash or property
# violation; the reproducer lands in build-fuzz/artifacts/. Usage: [FUZZ_SECONDS=N] scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-fuzz
seconds=${FUZZ_SECONDS:-20}
fuzzers=(vrrp_packet_fuzz checkers_response_fuzz)
fuzzers+=(keepalived_import_fuzz)

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

# Seeds for checkers_response_fuzz (first byte: 0 status, 1 digest, 2 body, 3 tcp expect).
checkers_corpus=$build/corpus/checkers_response
mkdir -p "$checkers_corpus"
printf '\x00200-299' >"$checkers_corpus/status"
printf '\x00404' >"$checkers_corpus/status-one"
printf '\x01md5:6f5902ac237024bdd0c176cb93063dc4' >"$checkers_corpus/md5"
printf '\x01sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
  >"$checkers_corpus/sha256"
printf '\x02\x40\x05ready\x00OK ready\xffmore body' >"$checkers_corpus/body"
printf '\x03+PONG\n+PONG\r\n' >"$checkers_corpus/expect"

# Seeds for keepalived_import_fuzz: Debian's keepalived samples, when installed.
import_corpus=$build/corpus/keepalived_import
mkdir -p "$import_corpus"
cp /usr/share/doc/keepalived/samples/keepalived.conf* "$import_corpus/" 2>/dev/null || true

for fuzzer in "${fuzzers[@]}"; do
  echo "== $fuzzer for ${seconds}s"
  seeds=$corpus
  [[ $fuzzer == checkers_response_fuzz ]] && seeds=$checkers_corpus
  [[ $fuzzer == keepalived_import_fuzz ]] && seeds=$import_corpus
  "$build/tests/fuzz/$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$fuzzer-" "$seeds"
done
