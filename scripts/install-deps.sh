#!/usr/bin/env bash
# Installs what vigil needs to build and test, from Debian 12's packages, and nothing that is
# already there. Quiet when everything is present. Run as root.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang-format
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libcurl4-openssl-dev libssl-dev libnl-3-dev libnl-genl-3-dev libnl-route-3-dev
  libtomlplusplus-dev doctest-dev
  # fuzzing: clang with the libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
  # real counterparts the tests run against
  python3 python3-jsonschema keepalived haproxy ipvsadm iproute2 iputils-ping nftables tcpdump
  prometheus dnsmasq-base socat
  # the smtp check's real MTA (installed, never started by the package here: the tests run it on
  # a loopback port of their own), the real STARTTLS server (Debian 12's OpenSMTPD fails every TLS
  # handshake with OpenSSL 3), and the grpc check's real gRPC server
  opensmtpd python3-aiosmtpd python3-grpcio
  # BIRD 2, the BGP speaker of the ECMP tests (installed, never started here: each test runs its
  # own BIRDs inside its namespaces)
  bird2
  qemu-system-x86 busybox-static cpio kmod openssl ca-certificates util-linux procps systemd
  # the IPVS guest harness (tests/ipvs-vm/vm.sh): ELF detection and the kernel image payload
  file xz-utils
  # the manual pages' test (man/check_manpages.sh): man --warnings, groff, lexgrog
  man-db groff-base
  # the Debian package and its test (tests/integration/deb_package_test.sh): dpkg-buildpackage,
  # debhelper 13 and lintian
  dpkg-dev debhelper lintian
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)); then
  echo "install-deps: missing packages: ${missing[*]}; run this as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# An MTA package starts its daemon on port 25 when installed, and bird2 a BIRD on the host's own
# routing table; the tests want neither. Debian's policy-rc.d hook tells maintainer scripts not to
# start services while it exists.
services=()
for service in opensmtpd bird2; do
  [[ " ${missing[*]} " == *" $service "* ]] && services+=("${service%2}")
done
policy=/usr/sbin/policy-rc.d
own_policy=false
if ((${#services[@]} > 0)) && [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=true
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if $own_policy; then
  rm -f "$policy"
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "${services[@]}" >/dev/null 2>&1 || true
  fi
fi
