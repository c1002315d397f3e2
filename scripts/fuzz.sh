#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz and runs each for FUZZ_SECONDS (default 20),
# seeded from the golden vectors in tests/data/vrrp and the configs in tests/config and etc/. Exits non-zero on any crash or property
# violation; the reproducer lands in build-fuzz/artifacts/. Usage: [FUZZ_SECONDS=N] scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-fuzz
seconds=${FUZZ_SECONDS:-20}
fuzzers=(vrrp_packet_fuzz checkers_response_fuzz ipvs_reply_fuzz config_load_fuzz
         keepalived_import_fuzz checkers_http_parser_fuzz dns_message_fuzz mail_grpc_fuzz)

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

# Seeds for ipvs_reply_fuzz: kernel-style reply datagrams (<linux/ip_vs.h> attribute numbers) for
# a service with 64-bit counters, a destination, a sync daemon, the info answer, a dump's end and
# an acknowledgement, and one datagram holding several of them.
ipvs_corpus=$build/corpus/ipvs_reply
mkdir -p "$ipvs_corpus"
python3 - "$ipvs_corpus" <<'PY'
import struct, sys, os
out = sys.argv[1]
def attr(t, v):
    a = struct.pack("=HH", 4 + len(v), t) + v
    return a + b"\0" * (-len(a) % 4)
u16 = lambda v: struct.pack("=H", v)
u32 = lambda v: struct.pack("=I", v)
u64 = lambda v: struct.pack("=Q", v)
be16 = lambda v: struct.pack(">H", v)
inet = lambda *b: bytes(b) + b"\0" * (16 - len(b))
def data(cmd, seq, attrs):
    return struct.pack("=IHHII", 20 + len(attrs), 0x1d, 2, seq, 0) + bytes([cmd, 1, 0, 0]) + attrs
def done(seq, err=0):
    return struct.pack("=IHHIIi", 20, 3, 2, seq, 0, -err)
def ack(seq, err=0):
    return struct.pack("=IHHIIi", 36, 2, 0, seq, 0, -err) + struct.pack("=IHHII", 20, 0x1d, 5, seq, 0)
stats = attr(1, u64(42)) + attr(11, b"") + attr(4, u64(1000))
service = attr(1, attr(1, u16(2)) + attr(2, u16(6)) + attr(3, inet(192, 0, 2, 1)) + attr(4, be16(80))
               + attr(6, b"wrr\0") + attr(7, u32(2) + u32(0xffffffff)) + attr(8, u32(300))
               + attr(9, u32(0x00ffffff)) + attr(12, stats))
service6 = attr(1, attr(1, u16(10)) + attr(5, u32(7)) + attr(6, b"mh\0") + attr(9, u32(64)))
dest = attr(2, attr(1, inet(10, 0, 0, 2)) + attr(2, be16(8080)) + attr(3, u32(3)) + attr(4, u32(5))
            + attr(5, u32(0)) + attr(6, u32(0)) + attr(7, u32(12)) + attr(8, u32(4))
            + attr(9, u32(1)) + attr(12, stats) + attr(11, u16(2)))
daemon = attr(3, attr(1, u32(2)) + attr(2, b"eth0\0") + attr(3, u32(51)) + attr(4, u16(1400))
              + attr(7, u16(8848)) + attr(8, b"\x01") + attr(6, bytes([255, 2] + [0] * 12 + [0x81, 0x48])))
info = attr(1, u32(0x010201)) + attr(2, u32(4096))
seeds = {
    "service": data(1, 1, service) + done(1),
    "service6": data(1, 1, service6) + done(1),
    "destination": data(5, 2, dest) + done(2),
    "daemon": data(9, 3, daemon) + done(3),
    "info": data(15, 4, info) + ack(4),
    "errors": ack(5, 17) + done(6, 90),
    "mixed": data(1, 1, service) + data(5, 1, dest) + data(9, 1, daemon) + done(1),
}
for name, blob in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(blob)
PY
# Seeds for config_load_fuzz: each config with the files it includes, in the fuzzer's layout (the
# main file, then "#--- NAME" and the text of each file NAME beside it).
config_corpus=$build/corpus/config_load
mkdir -p "$config_corpus"
config_seed() { # MAIN OUT: MAIN and every .toml under its folder's subfolders
  local main=$1 dir
  dir=$(dirname "$main")
  {
    cat "$main"
    find "$dir" -mindepth 2 -type f -name '*.toml' | sort | while read -r file; do
      printf '\n#--- %s\n' "${file#"$dir"/}"
      cat "$file"
    done
  } >"$2"
}
config_seed etc/vigil/vigil.toml "$config_corpus/etc"
for main in tests/config/good/*/vigil.toml; do
  config_seed "$main" "$config_corpus/good-$(basename "$(dirname "$main")")"
done
for main in tests/config/bad/*.toml; do
  name=$(basename "$main" .toml)
  # A bad config includes its NAME.d folder; as the fuzzer's main file it is /fuzz/vigil.toml.
  {
    cat "$main"
    if [[ -d tests/config/bad/$name.d ]]; then
      for file in tests/config/bad/"$name".d/*.toml; do
        [[ -f $file ]] || continue # unreadable-include.d/web.toml is a folder on purpose
        printf '\n#--- %s.d/%s\n' "$name" "$(basename "$file")"
        cat "$file"
      done
    fi
  } >"$config_corpus/bad-$name"
done
# Seeds for keepalived_import_fuzz: Debian's keepalived samples, when installed.
import_corpus=$build/corpus/keepalived_import
mkdir -p "$import_corpus"
cp /usr/share/doc/keepalived/samples/keepalived.conf* "$import_corpus/" 2>/dev/null || true

# Seeds for checkers_http_parser_fuzz (flags, piece size, body limit, then a response).
http_corpus=$build/corpus/checkers_http_parser
mkdir -p "$http_corpus"
printf '\x02\x07\x40HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' >"$http_corpus/length"
printf '\x00\x03\x08HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n' \
  >"$http_corpus/chunked"
printf '\x02\x01\xffHTTP/1.0 503 Busy\r\nConnection: keep-alive\r\n\r\nclose-delimited' >"$http_corpus/close"
printf '\x01\x05\x10HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No\nContent-Length: 9\n\n' >"$http_corpus/interim"
# Seeds for dns_message_fuzz: answers as dnsmasq gives them (A, MX with a compressed target, TXT),
# a truncated one, a pointer loop, and a bare name (read as text, it tests the query round trip).
dns_corpus=$build/corpus/dns_message
mkdir -p "$dns_corpus"
python3 - "$dns_corpus" <<'PY'
import struct, sys, os
out = sys.argv[1]
name = b"\x02ok\x04test\x00"
def response(flags, qtype, records, count):
    return struct.pack("!HHHHHH", 0x1234, flags, 1, count, 0, 0) + name + struct.pack("!HH", qtype, 1) + records
def rr(rtype, rdata):
    return b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata
seeds = {
    "a": response(0x8180, 1, rr(1, bytes([127, 0, 0, 9])), 1),
    "mx": response(0x8180, 15, rr(15, b"\x00\x0a\x04mail\xc0\x0c"), 1),
    "txt": response(0x8180, 16, rr(16, b"\x05hello\x05world"), 1),
    "truncated": response(0x8380, 1, b"", 2),
    "loop": struct.pack("!HHHHHH", 1, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",
    "name": b"www.example.org.",
}
for seed, blob in seeds.items():
    with open(os.path.join(out, seed), "wb") as f:
        f.write(blob)
PY

# Seeds for mail_grpc_fuzz: what an SMTP server says in a whole dialogue, plain and with
# STARTTLS (the fuzzer plays the handshake), a 220 with a fake reply injected behind it, and a
# gRPC health response (SERVING) for the other half.
mail_corpus=$build/corpus/mail_grpc
mkdir -p "$mail_corpus"
printf '220 mx.test ESMTP\r\n250-mx.test\r\n250 SIZE 1000\r\n221 bye\r\n' >"$mail_corpus/plain"
printf '220 old\r\n502 what\r\n250 old\r\n221 bye\r\n' >"$mail_corpus/helo"
printf '220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n250-mx\r\n250 AUTH PLAIN\r\n221 bye\r\n' \
  >"$mail_corpus/starttls"
printf '220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n250 fake\r\n' >"$mail_corpus/injected"
printf '\x08\x01' >"$mail_corpus/grpc-serving"

for fuzzer in "${fuzzers[@]}"; do
  echo "== $fuzzer for ${seconds}s"
  seeds=$corpus
  [[ $fuzzer == checkers_response_fuzz ]] && seeds=$checkers_corpus
  [[ $fuzzer == ipvs_reply_fuzz ]] && seeds=$ipvs_corpus
  [[ $fuzzer == config_load_fuzz ]] && seeds=$config_corpus
  [[ $fuzzer == keepalived_import_fuzz ]] && seeds=$import_corpus
  [[ $fuzzer == checkers_http_parser_fuzz ]] && seeds=$http_corpus
  [[ $fuzzer == dns_message_fuzz ]] && seeds=$dns_corpus
  [[ $fuzzer == mail_grpc_fuzz ]] && seeds=$mail_corpus
  "$build/tests/fuzz/$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$fuzzer-" "$seeds"
done
