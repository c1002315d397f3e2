#!/usr/bin/env bash
# The demo: installs what is missing, builds vigil, and shows it validating the shipped example
# configuration, refusing a broken one with located errors, running as a daemon that answers
# `vigil status` and reloads on SIGHUP, and then electing a VRRP master between two directors in a
# namespace lab and failing over (scripts/demo_lab.py). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
vigil=build/src/vigil

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "vigil check on the shipped example (etc/vigil)"
"$vigil" check -c etc/vigil/vigil.toml

work=$(mktemp -d)
trap 'kill "${daemon:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r etc/vigil/. "$work/"
# eth0 exists on this host: VRRP must not speak on it here, so the demo copy names an interface
# that does not exist (its instance waits in FAULT).
sed -i "s|interface = \"eth0\"|interface = \"vigil-demo0\"|" "$work/vigil.toml"
# Nor is there IPVS in this host's kernel: the copy programs vigil's in-memory table instead.
sed -i "s|backend = \"netlink\"|backend = \"memory\"|; s|state_dir = .*|state_dir = \"$work/state\"|" "$work/vigil.toml"
# And the health checks must only reach this machine: the example's addresses move to loopback
# (nothing listens there, so the demo shows the real servers going down).
sed -i "s|192\.168\.1\.|127.0.1.|g" "$work/vigil.toml" "$work"/conf.d/*.toml
sed -i "s|^control_socket = .*|control_socket = \"$work/vigil.sock\"|" "$work/vigil.toml"

step "a broken copy is refused, every error with its file, line and column"
cp "$work/conf.d/web.toml" "$work/conf.d/web.toml.orig"
sed -i 's/scheduler = "wrr"/scheduler = "fastest"/; s/weight = 3/weight = 70000/' "$work/conf.d/web.toml"
"$vigil" check -c "$work/vigil.toml" || echo "(exit status $?)"
mv "$work/conf.d/web.toml.orig" "$work/conf.d/web.toml"

step "vigil run in the foreground; its log events are JSON lines"
"$vigil" run -c "$work/vigil.toml" 2>"$work/events.log" &
daemon=$!
for _ in $(seq 50); do [[ -S $work/vigil.sock ]] && break; sleep 0.1; done
"$vigil" status -s "$work/vigil.sock"

step "SIGHUP with a broken config: refused, the running config stays"
sed -i 's/weight = 3/weight = -1/' "$work/conf.d/web.toml"
kill -HUP "$daemon"; sleep 0.3
"$vigil" status -s "$work/vigil.sock"

step "SIGHUP with the config fixed: reloaded"
sed -i 's/weight = -1/weight = 3/' "$work/conf.d/web.toml"
kill -HUP "$daemon"; sleep 0.3
"$vigil" status -s "$work/vigil.sock"

step "SIGTERM: clean stop"
kill -TERM "$daemon"; wait "$daemon" && echo "exit status 0"
daemon=
step "the event log"
cat "$work/events.log"

if ((EUID == 0)); then
  /usr/bin/python3 scripts/demo_lab.py "$vigil"
else
  step "skipping the VRRP lab: network namespaces need root"
fi
