#!/bin/bash
# vm.sh - vigil's real-kernel IPVS harness: boots Debian's kernel under qemu from a throw-away
# initramfs (busybox-static + ip_vs modules + ipvsadm + the test binaries), runs one command in
# the guest and returns its exit code. The host kernel has no IPVS, so this is the only place the
# netlink backend meets a real kernel. Adapted from the shared ipvs-vm recipe.
#
# Usage:
#   vm.sh setup                      fetch+unpack a Debian kernel into $VM_DIR/kernel
#                                    (apt-get download, no system-wide kernel install)
#   vm.sh run [options] [-- guest shell command]
#     --add HOST[:GUEST]   copy a file into the initramfs (default GUEST=/usr/local/bin/<name>);
#                          dynamically linked ELF files get their libs via ldd (repeatable)
#     --accel kvm|tcg|auto default auto: kvm if /dev/kvm opens and the host KVM is not kvm_pvm, else tcg
#     --timeout SEC        default 180 (exit 124 on timeout)
#     --mem MB             default 512
#     --cpus N             default 1
#     --modules "m1 m2"    extra kernel modules to load (closure resolved with modprobe -D)
#     --net                add a virtio NIC on qemu user networking with restrict=on
#                          (guest 10.0.2.15/24 configured); see --guestfwd/--hostfwd
#     --guestfwd GPORT:HOSTPORT   guest tcp 10.0.2.100:GPORT -> host 127.0.0.1:HOSTPORT (implies --net)
#     --hostfwd HOSTPORT:GPORT    host 127.0.0.1:HOSTPORT -> guest :GPORT          (implies --net)
#     --share DIR          export DIR read-only via virtio-9p, mounted at /mnt/host in the guest
#     --keep               keep the build dir ($VM_DIR/build.XXXX) for inspection
#     --qemu-arg ARG       extra qemu argument (repeatable), e.g. virtio-serial devices
#     --bzimage            boot the compressed vmlinuz instead of the PVH vmlinux (slower under TCG)
#     --log FILE           serial console log (default $VM_DIR/last-console.log)
#     --stream             print the guest command's output as it comes, not after power-off
#     --append ARG         extra kernel command line argument (repeatable), e.g. systemd.mask=UNIT
#     --systemd            boot the host's own root file system with systemd as PID 1 instead of
#                          the busybox initramfs: / read-only over virtio-9p under a tmpfs overlay,
#                          the --add files copied into the overlay (no libraries: the host's are
#                          there), the guest command run by the unit vm-guest.service, the one
#                          unit (with its dependencies) the boot starts: systemd.unit=vm-guest.target.
#                          The host's boot housekeeping is masked (see systemd_overlay), and
#                          no generator runs; --append systemd.mask=UNIT masks more.
#   Default guest command: the ipvsadm demo (rr service + masq dest, ipvsadm -Ln).
#   Exit status: guest command's exit status, 124 timeout/no marker, 125 build/setup error.
#
# Env: VM_DIR (default $VIGIL_IPVS_VM_CACHE or /var/cache/vigil-ipvs-vm: outside the source and
#      build trees, so a clean build keeps the ~70 MB kernel), KVER (default: newest kernel under $KDIR/lib/modules),
#      KDIR (default $VM_DIR/kernel; KDIR=/ uses an apt-installed linux-image from /boot + /lib/modules)
set -u
VM_DIR=${VM_DIR:-${VIGIL_IPVS_VM_CACHE:-/var/cache/vigil-ipvs-vm}}
KDIR=${KDIR:-$VM_DIR/kernel}  # unpacked linux-image deb (boot/ + lib/modules/), or / for the installed one

die() { echo "ipvs-vm: $*" >&2; exit 125; }
log() { echo "[ipvs-vm $(date +%H:%M:%S.%3N)] $*" >&2; }

# Idempotent: a second call with the kernel already unpacked only checks it.
setup() {
  local have; have=$(ls "$KDIR/lib/modules" 2>/dev/null | sort -V | tail -1)
  if [ -n "$have" ] && [ -s "$KDIR/lib/modules/$have/modules.dep" ]; then
    extract_vmlinux "$have"; return 0
  fi
  mkdir -p "$VM_DIR/debs" "$KDIR" || die "cannot create $VM_DIR (set VIGIL_IPVS_VM_CACHE)"
  local meta pkg
  # linux-image-amd64 is a metapackage; resolve the real image package name
  resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
  pkg=$(resolve)
  if [ -z "$pkg" ]; then
    # A fresh machine may have no package lists yet.
    apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(resolve)
  fi
  [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
  ls "$VM_DIR/debs/${pkg}"_*.deb >/dev/null 2>&1 || ( cd "$VM_DIR/debs" && apt-get download "$pkg" ) || die "apt-get download $pkg failed"
  dpkg-deb -x "$VM_DIR/debs/${pkg}"_*.deb "$KDIR" || die "dpkg-deb -x failed"
  local v; v=$(ls "$KDIR/lib/modules" | sort -V | tail -1)
  depmod -b "$KDIR" "$v" || die "depmod failed"
  extract_vmlinux "$v"
  log "kernel $v unpacked to $KDIR ($(stat -c %s "$KDIR/boot/vmlinuz-$v") bytes vmlinuz, $(stat -c %s "$VM_DIR/vmlinux-$v" 2>/dev/null) bytes vmlinux)"
}

# Debian's bzImage is xz-compressed; decompressing it under TCG costs ~2.5 s per boot.
# Extract the ELF vmlinux once: qemu boots it via the PVH entry point (CONFIG_PVH=y).
extract_vmlinux() { # KVER -> $VM_DIR/vmlinux-KVER
  local v=$1 off z="$KDIR/boot/vmlinuz-$1" out="$VM_DIR/vmlinux-$1"
  [ -s "$out" ] && [ "$out" -nt "$z" ] && return 0
  mkdir -p "$VM_DIR"
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -1 | cut -d: -f1)
  [ -n "$off" ] || { log "no xz payload in $z (bzImage boot only)"; return 1; }
  tail -c +$((off + 1)) "$z" | xz -dc > "$out.tmp" 2>/dev/null
  if file "$out.tmp" | grep -q 'ELF 64-bit'; then mv "$out.tmp" "$out"; else rm -f "$out.tmp"; log "vmlinux extraction failed"; return 1; fi
}

# copy FILE into ROOT at GUEST path, plus shared libs for dynamic ELF unless LIBS is 0
add_file() { # ROOT HOST GUEST [LIBS]
  local root=$1 src=$2 dst=$3 libs=${4:-1} lib
  mkdir -p "$root/$(dirname "$dst")"
  cp -L "$src" "$root/$dst" || die "copy $src"
  # Without debug information: a smaller initramfs boots faster under TCG.
  if file -L "$src" | grep -q 'ELF'; then strip --strip-debug "$root/$dst" || die "strip $src"; fi
  if [ "$libs" = 1 ] && file -L "$src" | grep -q 'ELF.*dynamically linked'; then
    for lib in $(ldd "$src" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do
      [ -e "$root/$lib" ] && continue
      mkdir -p "$root/$(dirname "$lib")"; cp -L "$lib" "$root/$lib"
    done
  fi
}

# systemd_overlay DIR NONCE CMD: what --systemd adds to the host's root for the boot: the unit
# that runs the guest command between the markers and powers off, and the target it is part of.
systemd_overlay() {
  local o=$1 nonce=$2 cmd=$3
  mkdir -p "$o/vm-guest" "$o/etc/systemd/system"
  printf '%s\n' "$cmd" > "$o/vm-guest/cmd.sh"
  cat > "$o/vm-guest/run.sh" <<EOF
#!/bin/sh
echo "@@GUEST-START-$nonce@@"
sh /vm-guest/cmd.sh
echo "@@GUEST-RC-$nonce=\$?@@"
systemctl poweroff --force --force
EOF
  chmod +x "$o/vm-guest/run.sh"
  cat > "$o/etc/systemd/system/vm-guest.target" <<'EOF'
[Unit]
Description=vm.sh guest: the guest command and what it needs
Requires=vm-guest.service
After=vm-guest.service
AllowIsolate=yes
EOF
  cat > "$o/etc/systemd/system/vm-guest.service" <<'EOF'
[Unit]
Description=vm.sh guest command
[Service]
Type=oneshot
ExecStart=/vm-guest/run.sh
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no
EOF
  # The host's boot housekeeping a test guest does without: each costs a second or more under
  # TCG. No generator runs (fstab, getty, SysV scripts) and no timer fires.
  local u g
  for u in timers.target systemd-timesyncd.service systemd-pstore.service systemd-binfmt.service \
      proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount systemd-update-utmp.service \
      systemd-random-seed.service systemd-journal-flush.service systemd-sysusers.service \
      systemd-firstboot.service systemd-repart.service systemd-remount-fs.service \
      kmod-static-nodes.service systemd-tmpfiles-setup-dev.service systemd-modules-load.service \
      modprobe@.service dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount \
      sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount; do
    ln -s /dev/null "$o/etc/systemd/system/$u"
  done
  mkdir -p "$o/etc/systemd/system-generators"
  for g in /lib/systemd/system-generators/*; do
    [ -e "$g" ] && ln -s /dev/null "$o/etc/systemd/system-generators/$(basename "$g")"
  done
}

run_vm() {
  local accel=auto timeout=180 mem=512 cpus=1 extra_mods="" net=0 share="" keep=0 bzimage=0 stream=0
  local systemd=0 logf="$VM_DIR/last-console.log" adds=() gfwd=() hfwd=() qextra=() append=() cmd=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --add) adds+=("$2"); shift 2 ;;
      --accel) accel=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --mem) mem=$2; shift 2 ;;
      --cpus) cpus=$2; shift 2 ;;
      --modules) extra_mods="$extra_mods $2"; shift 2 ;;
      --net) net=1; shift ;;
      --guestfwd) gfwd+=("$2"); net=1; shift 2 ;;
      --hostfwd) hfwd+=("$2"); net=1; shift 2 ;;
      --share) share=$(cd "$2" && pwd) || die "bad --share"; shift 2 ;;
      --keep) keep=1; shift ;;
      --log) logf=$2; shift 2 ;;
      --bzimage) bzimage=1; shift ;;
      --stream) stream=1; shift ;;
      --qemu-arg) qextra+=("$2"); shift 2 ;;
      --append) append+=("$2"); shift 2 ;;
      --systemd) systemd=1; shift ;;
      --) shift; cmd="$*"; break ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ -n "$cmd" ] || cmd='ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3 && ipvsadm -Ln'

  local kver=${KVER:-$(ls "$KDIR/lib/modules" 2>/dev/null | sort -V | tail -1)}
  if [ -z "$kver" ]; then setup || die "setup failed"; kver=$(ls "$KDIR/lib/modules" | sort -V | tail -1); fi
  local kernel="$KDIR/boot/vmlinuz-$kver" moddir="$KDIR/lib/modules/$kver"
  [ -r "$kernel" ] || die "missing $kernel"
  [ -s "$moddir/modules.dep" ] || die "no $moddir/modules.dep (run depmod)"
  if [ $bzimage = 0 ] && extract_vmlinux "$kver"; then kernel="$VM_DIR/vmlinux-$kver"; fi
  local bb; bb=$(command -v busybox) || die "busybox-static not installed"
  file -L "$bb" | grep -q 'statically linked' || die "$bb is not static (install busybox-static)"

  local b; b=$(mktemp -d "$VM_DIR/build.XXXXXX")
  local root=$b/root t0 t1
  t0=$(date +%s%N)
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,run,mnt/host,etc,lib/modules/$kver}
  cp "$bb" "$root/bin/busybox"

  # --- kernel modules: closure of the wanted set, in load order, decompressed ---
  local want="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_dh ip_vs_mh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_lblc ip_vs_lblcr ip_vs_twos crc32c_generic crc32c-intel $extra_mods"
  [ $net = 1 ] && want="$want virtio_pci virtio_net"
  [ -n "$share" ] && want="$want virtio_pci 9pnet_virtio 9p"
  # autofs4: systemd's automount units (binfmt_misc) want it, and say so on the console without it.
  [ $systemd = 1 ] && want="$want virtio_pci 9pnet_virtio 9p overlay autofs4"
  local m line ko rel order=()
  for m in $want; do
    # "insmod PATH [OPTIONS]": the options come from the host's modprobe.d (dummy numdummies=0).
    modprobe -d "$KDIR" -S "$kver" -D "$m" 2>/dev/null | while read -r kw ko _; do
      [ "$kw" = insmod ] && echo "$ko"
    done
  done > "$b/closure.txt"
  # dedupe keeping first occurrence (dependencies come first in modprobe -D output)
  awk '!seen[$0]++' "$b/closure.txt" > "$b/order.txt"
  : > "$root/etc/modules.order"
  while read -r ko; do
    rel=${ko#"$moddir/"}
    mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
    case "$ko" in
      *.ko.xz)  xz -dc "$ko" > "$root/lib/modules/$kver/${rel%.xz}"; rel=${rel%.xz} ;;
      *.ko.zst) zstd -qdc "$ko" > "$root/lib/modules/$kver/${rel%.zst}"; rel=${rel%.zst} ;;
      *.ko.gz)  gzip -dc "$ko" > "$root/lib/modules/$kver/${rel%.gz}"; rel=${rel%.gz} ;;
      *)        cp "$ko" "$root/lib/modules/$kver/$rel" ;;
    esac
    echo "$rel" >> "$root/etc/modules.order"
  done < "$b/order.txt"
  # modules.dep/alias for the subset, so in-guest request_module() -> busybox modprobe works
  cp "$moddir"/modules.builtin* "$root/lib/modules/$kver/" 2>/dev/null
  depmod -b "$root" "$kver" 2>/dev/null || log "warning: depmod on subset failed"

  # --- userland ---
  local a src dst nonce
  nonce=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
  if [ $systemd = 1 ]; then
    systemd_overlay "$root/overlay" "$nonce" "$cmd"
    for a in "${adds[@]}"; do
      src=${a%%:*}; dst=${a#*:}; [ "$dst" = "$a" ] && dst=/usr/local/bin/$(basename "$src")
      # The guest's / is the host's: a folder behind a symlink there (/lib -> usr/lib) is one
      # behind the same symlink in the guest, and the copy must not replace the symlink.
      dst=$(realpath -m "$(dirname "$dst")")/$(basename "$dst")
      add_file "$root/overlay" "$src" "$dst" 0
    done
  else
    add_file "$root" "$(command -v ipvsadm)" /sbin/ipvsadm
    for a in "${adds[@]}"; do
      src=${a%%:*}; dst=${a#*:}; [ "$dst" = "$a" ] && dst=/usr/local/bin/$(basename "$src")
      add_file "$root" "$src" "$dst"
    done
  fi
  printf '%s\n' "$cmd" > "$root/cmd.sh"
  cat > "$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
echo /sbin/modprobe > /proc/sys/kernel/modprobe
ip link set lo up
for m in \$(cat /etc/modules.order); do
  insmod /lib/modules/$kver/\$m 2>/tmp/insmod.err || grep -q 'File exists\|No such device' /tmp/insmod.err || { echo "insmod \$m: \$(cat /tmp/insmod.err)"; }
done
if [ $net = 1 ]; then
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
  ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
fi
if [ $systemd = 1 ]; then
  # The host's / read-only, a tmpfs on top for what the guest writes, the --add files in it.
  mkdir -p /mnt/lower /mnt/rw /newroot
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=524288 hostroot /mnt/lower &&
    mount -t tmpfs -o mode=0755 tmpfs /mnt/rw && mkdir /mnt/rw/upper /mnt/rw/work &&
    mount -t overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
    { echo "ipvs-vm: cannot mount the host's root"; poweroff -f; }
  cp -a /overlay/. /newroot/
  # A container's marker: systemd would take the guest for a container, and a container's systemd
  # reads no kernel command line (systemd.unit=).
  rm -f /newroot/.dockerenv /newroot/run/.containerenv
  # The modules of the guest's kernel, for modprobe and systemd's static device nodes.
  mkdir -p /newroot/lib/modules && cp -a /lib/modules/$kver /newroot/lib/modules/
  if [ -n "$share" ]; then
    mkdir -p /newroot/mnt/host
    mount -t 9p -o trans=virtio,version=9p2000.L,ro host0 /newroot/mnt/host || echo "9p mount failed"
  fi
  mount --move /dev /newroot/dev; mount --move /proc /newroot/proc; mount --move /sys /newroot/sys
  exec switch_root /newroot /lib/systemd/systemd
fi
if [ -n "$share" ]; then mount -t 9p -o trans=virtio,version=9p2000.L,ro host0 /mnt/host || echo "9p mount failed"; fi
echo "@@GUEST-START-$nonce@@"
sh /cmd.sh
echo "@@GUEST-RC-$nonce=\$?@@"
poweroff -f
EOF
  chmod +x "$root/init" "$root/cmd.sh"
  ( cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet 2>/dev/null | gzip -1 > "$b/initramfs.cpio.gz" ) \
     || die "cpio failed"
  t1=$(date +%s%N)
  log "initramfs $(du -k "$b/initramfs.cpio.gz" | cut -f1) KiB ($(wc -l < "$root/etc/modules.order") modules) built in $(( (t1 - t0) / 1000000 )) ms"

  # --- qemu ---
  local qacc
  if [ "$accel" = auto ]; then
    accel=tcg
    if [ -c /dev/kvm ] && { exec 9<>/dev/kvm; } 2>/dev/null; then
      exec 9>&-
      # kvm_pvm (PVM nested virt, e.g. in some cloud sandboxes) cannot run stock kernels:
      # emulation failures (cmpxchg16b, xrstor, int3) -> stay on TCG there
      [ -d /sys/module/kvm_pvm ] || accel=kvm
    fi
  fi
  if [ "$accel" = kvm ]; then qacc=(-accel kvm -cpu host); else qacc=(-accel tcg -cpu max); fi
  local qnet=() qshare=()
  if [ $net = 1 ]; then
    local nic="user,model=virtio-net-pci,restrict=on" f
    for f in "${gfwd[@]}"; do nic="$nic,guestfwd=tcp:10.0.2.100:${f%%:*}-tcp:127.0.0.1:${f#*:}"; done
    for f in "${hfwd[@]}"; do nic="$nic,hostfwd=tcp:127.0.0.1:${f%%:*}-:${f#*:}"; done
    qnet=(-nic "$nic")
  fi
  [ -n "$share" ] && qshare=(-virtfs "local,path=$share,mount_tag=host0,security_model=none,readonly=on")
  local kappend="console=ttyS0 panic=-1 quiet"
  if [ $systemd = 1 ]; then
    # multidevs=remap: / spans several host file systems, whose inode numbers would collide.
    qshare+=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
    kappend="$kappend systemd.unit=vm-guest.target systemd.show_status=false"
  fi
  [ ${#append[@]} -gt 0 ] && kappend="$kappend ${append[*]}"
  t0=$(date +%s%N)
  local qemu=(timeout -k 5 "$timeout" qemu-system-x86_64 "${qacc[@]}" -m "$mem" -smp "$cpus"
      -nodefaults -no-user-config -display none -serial stdio -no-reboot
      -kernel "$kernel" -initrd "$b/initramfs.cpio.gz"
      -append "$kappend" "${qnet[@]}" "${qshare[@]}" "${qextra[@]}")
  local qrc
  if [ $stream = 1 ]; then
    # The console goes to the log and, between the markers, to stdout line by line as it comes.
    "${qemu[@]}" </dev/null 2>&1 | tee "$logf" | awk -v start="@@GUEST-START-$nonce@@" \
        -v end="@@GUEST-RC-$nonce=" '{ sub(/\r$/, "") } index($0, end) { on = 0 } on { print; fflush() } index($0, start) { on = 1 }'
    qrc=${PIPESTATUS[0]}
  else
    "${qemu[@]}" </dev/null > "$logf" 2>&1
    qrc=$?
  fi
  t1=$(date +%s%N)
  [ $stream = 1 ] || tr -d '\r' < "$logf" | sed -n "/@@GUEST-START-$nonce@@/,/@@GUEST-RC-$nonce=/p" | grep -v "@@GUEST-"
  local rc; rc=$(tr -d '\r' < "$logf" | sed -n "s/.*@@GUEST-RC-$nonce=\([0-9]*\)@@.*/\1/p" | tail -1)
  log "qemu ($accel) exited rc=$qrc after $(( (t1 - t0) / 1000000 )) ms; guest rc=${rc:-none}; console log $logf"
  [ $keep = 1 ] && log "build dir kept: $b" || rm -rf "$b"
  if [ -z "$rc" ]; then
    log "the guest did not finish; last console lines:"
    tail -40 "$logf" >&2
    return 124
  fi
  return "$rc"
}

case "${1:-}" in
  setup) setup ;;
  run) shift; run_vm "$@" ;;
  *) sed -n '2,30p' "$0"; exit 2 ;;
esac
