#!/usr/bin/env bash
# ctest entry: vigil's shipped systemd unit (etc/systemd/vigil.service.in) and the BGP drop-in,
# tmpfiles entry and examples of etc/bgp under real systemd: a qemu guest boots Debian's kernel
# with the host's systemd as PID 1 (vm.sh --systemd), and systemd_guest.sh checks there what the
# unit alone and with the drop-in does (see its header).
#   systemd-guest-vm.sh VIGIL SOURCE_DIR
# Exit status: the guest script's; 77 (skipped) when not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vigil=$(realpath "$1")
src=$(realpath "$2")
if ((EUID != 0)); then
  echo "systemd guest: needs root (qemu's virtio-9p export of /, the guest's root); skipping" >&2
  exit 77
fi
for tool in qemu-system-x86_64 busybox cpio /lib/systemd/systemd systemd-analyze bird birdc ipvsadm; do
  command -v "$tool" >/dev/null || { echo "systemd guest: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
getent group bird >/dev/null || { echo "systemd guest: no group bird (Debian's bird2 creates it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The unit as the Debian package generates it (debian/rules: prefix /usr, so /usr/sbin and /etc).
sed -e 's|@VIGIL_SBINDIR@|/usr/sbin|g' -e 's|@VIGIL_SYSCONFDIR@|/etc|g' \
  "$src/etc/systemd/vigil.service.in" > "$work/vigil.service"
if grep -n '@[A-Z_]*@' "$work/vigil.service"; then echo "systemd guest: unit template variables left" >&2; exit 1; fi
# The shipped director configuration, with a 1 s hold-down: a first announcement waits for it, and
# vigil starts three times with the drop-in.
sed 's/^hold_down = "10s"/hold_down = "1s"/' "$src/etc/bgp/vigil.toml" > "$work/vigil.toml"
grep -q '^hold_down = "1s"' "$work/vigil.toml" || { echo "systemd guest: no hold_down in etc/bgp/vigil.toml" >&2; exit 1; }

stage=/usr/local/share/vigil-systemd-guest
"$here/vm.sh" run --systemd --stream --timeout 280 --mem 768 --modules "tun dummy" \
  --log "$work/console.log" \
  --add "$vigil:/usr/sbin/vigil" \
  --add "$work/vigil.service:/lib/systemd/system/vigil.service" \
  --add "$src/man/vigil.8:/usr/share/man/man8/vigil.8" \
  --add "$src/man/vigil.toml.5:/usr/share/man/man5/vigil.toml.5" \
  --add "$src/etc/bgp/tmpfiles-vigil-bird.conf:/etc/tmpfiles.d/vigil-bird.conf" \
  --add "$src/etc/bgp/bird-director.conf:/etc/bird/bird.conf" \
  --add "$src/etc/bgp/systemd-vigil-bgp.conf:$stage/bgp.conf" \
  --add "$work/vigil.toml:$stage/vigil.toml" \
  --add "$src/etc/bgp/conf.d/web.toml:$stage/web.toml" \
  --add "$here/systemd_guest.sh:$stage/systemd_guest.sh" \
  -- "sh $stage/systemd_guest.sh $stage"
