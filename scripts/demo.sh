#!/usr/bin/env bash
# The demo: installs what is missing, builds vigil, shows it validating the shipped example
# configuration and refusing a broken copy with located errors, then runs the IPVS lab
# (scripts/ipvs_demo.sh): a client, two directors running vigil and three real servers in network
# namespaces, with real HTTP traffic through the kernel's IPVS, on the host when its kernel has
# IPVS and otherwise inside a qemu guest. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
vigil=build/src/vigil

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "vigil check on the shipped example (etc/vigil)"
"$vigil" check -c etc/vigil/vigil.toml

step "a broken copy is refused, every error with its file, line and column"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r etc/vigil/. "$work/"
sed -i 's/scheduler = "wrr"/scheduler = "fastest"/; s/weight = 3/weight = 70000/' "$work/conf.d/web.toml"
"$vigil" check -c "$work/vigil.toml" || echo "(exit status $?)"

if ((EUID != 0)); then
  step "the IPVS lab needs root (network namespaces, IPVS): run scripts/demo.sh as root"
  exit 1
fi
scripts/ipvs_demo.sh "$vigil"
