#!/bin/sh
# vigil's shipped systemd unit and its BGP drop-in under real systemd: run by systemd-guest-vm.sh
# inside a qemu guest whose PID 1 is the host's systemd (vm.sh --systemd), as root.
#
#   systemd_guest.sh STAGE     STAGE: the folder of the staged files (see systemd-guest-vm.sh)
#
# BIRD runs as Debian's bird.service with the shipped director configuration (bird-director.conf)
# and vigil as vigil.service, the unit generated from vigil.service.in as the package does, with
# the shipped example configuration (etc/bgp/vigil.toml, its hold-down shortened, and
# conf.d/web.toml) announcing 10.98.100.1/32; its three real servers are addresses on a dummy
# device, answered by busybox httpd. Steps, each checked on its outcome:
#   1. the unit alone (PrivateDevices=yes) fails to start, saying the liveness device cannot be
#      created; the drop-in without one of its lines fails the way that line prevents (these run
#      the unit's file under other names, vigil-alone.service and so on, each with its drop-in)
#   2. with the drop-in, `systemctl start vigil` succeeds under the whole sandbox, the TUN device
#      is up and BIRD has the route
#   3. `systemctl stop vigil`: the route goes while the unit is still deactivating (drain_wait),
#      the stop takes drain_wait and ends well within TimeoutStopSec, and cleanly
#   4. SIGKILL of vigil's main process: the route is gone within 3 s, with the TUN device; the
#      unit restarts vigil (Restart=on-failure)
# Prints RESULT lines with the measured times; exits 1 on the first failed check.
set -u
stage=$1
vip=10.98.100.1
unit=vigil.service
dropin_dir=/etc/systemd/system/vigil.service.d
drain_wait_ms=5000   # etc/bgp/vigil.toml
stop_timeout_ms=30000 # TimeoutStopSec= of the unit and the drop-in
cursor=/tmp/vigil-journal.cursor

say() { printf '%s\n' "$*"; }
bold() { printf '\n== [%s s] %s\n' "$(cut -d' ' -f1 /proc/uptime)" "$*"; }
fail() {
  printf 'FAILED: %s\n' "$*"
  say "-- systemctl status vigil:"
  systemctl status --no-pager -l "$unit" 2>&1 | tail -15
  say "-- last of vigil's journal:"
  journalctl -u "$unit" -o short-monotonic --no-pager 2>&1 | tail -25
  say "-- birdc show route:"
  birdc -s /run/bird/bird.ctl show route 2>&1 | tail -5
  exit 1
}
now_ms() { date +%s%3N; }
# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 300 ms (a poll takes the guest's one
# CPU from what it waits for); sets $waited (ms).
wait_until() {
  limit=$1; what=$2; shift 2
  start=$(now_ms)
  while ! "$@" >/dev/null 2>&1; do
    [ $(($(now_ms) - start)) -lt $((limit * 1000)) ] || fail "$what: not within ${limit}s"
    sleep 0.3
  done
  waited=$(($(now_ms) - start))
}
# The announced route in BIRD's table (the static protocol vigil_web, via the liveness device).
route_announced() { birdc -s /run/bird/bird.ctl show route "$vip/32" 2>/dev/null | grep -q "^$vip/32 .*vigil_web"; }
link_exists() { ip link show vigil-live >/dev/null 2>&1; }
link_up() { ip -o link show vigil-live 2>/dev/null | grep -q '[<,]UP[,>]'; }
state() { systemctl show -p ActiveState --value "$unit"; }
main_pid() { systemctl show -p MainPID --value "$unit"; }
# What UNIT's journal got since the last call for it.
journal_news() { journalctl -u "$1" -o cat --no-pager --cursor-file="$cursor.$1" 2>/dev/null; }
journal_has() { journalctl -u "$1" -o cat --no-pager 2>/dev/null | grep -q "$2"; }
# variant NAME [LINE_PATTERN]: the unit under the name NAME.service (the same file), with no
# drop-in, or with the shipped drop-in but the lines matching LINE_PATTERN. Every variant is
# installed before one daemon-reload (a reload costs seconds under TCG).
variant() {
  cp /lib/systemd/system/vigil.service "/etc/systemd/system/$1.service"
  [ $# -gt 1 ] || return 0
  mkdir -p "/etc/systemd/system/$1.service.d"
  grep -v "$2" "$stage/bgp.conf" > "/etc/systemd/system/$1.service.d/bgp.conf"
  grep -q "$2" "$stage/bgp.conf" || fail "no line $2 in the drop-in"
}
# After a variant that must not have announced anything: SIGKILL spares its drain_wait.
stop_clean() {
  route_announced && fail "a route is announced"
  systemctl kill --signal=SIGKILL "$1" 2>/dev/null
  systemctl stop "$1" 2>/dev/null
  systemctl reset-failed "$1" 2>/dev/null
  rm -f /run/vigil-bird/vigil.conf
  return 0
}

boot_ms=$(awk '{ printf "%d", $1 * 1000 }' /proc/uptime)
say "RESULT guest booted to this script in $boot_ms ms (systemd $(systemctl --version | awk 'NR == 1 { print $2 }'))"

bold "the director: configuration, real servers, BIRD"
# The guest's / is the host's: nothing of the host's own vigil configuration may be read.
rm -rf /etc/vigil "$dropin_dir"
mkdir -p /etc/vigil/conf.d
cp "$stage/vigil.toml" /etc/vigil/vigil.toml
cp "$stage/web.toml" /etc/vigil/conf.d/web.toml
[ -d /run/vigil-bird ] || fail "systemd-tmpfiles did not create /run/vigil-bird (tmpfiles-vigil-bird.conf)"
say "   /run/vigil-bird from tmpfiles at boot: $(stat -c '%A %U:%G' /run/vigil-bird)"
{ ip link add rs type dummy && ip link set rs up; } || fail "cannot create the real servers' dummy device"
for a in 10.98.1.11 10.98.1.12 10.98.1.13; do ip addr add "$a/32" dev rs || fail "address $a"; done
mkdir -p /tmp/www && echo ok > /tmp/www/health
busybox httpd -p 80 -h /tmp/www || fail "busybox httpd"
systemctl start bird.service || fail "systemctl start bird (shipped bird-director.conf)"
wait_until 10 "BIRD's control socket" test -S /run/bird/bird.ctl
say "   bird.service active; $(stat -c '%n %A %U:%G' /run/bird/bird.ctl)"
variant vigil-alone
variant vigil-no-deviceallow '^DeviceAllow='
variant vigil-no-group '^SupplementaryGroups='
variant vigil-no-rw '^ReadWritePaths='
mkdir -p "$dropin_dir" && cp "$stage/bgp.conf" "$dropin_dir/bgp.conf"
systemctl daemon-reload || fail "systemctl daemon-reload"

bold "1. the unit alone (PrivateDevices=yes, no drop-in; as vigil-alone.service)"
t0=$(now_ms)
if systemctl start vigil-alone 2>/tmp/start.err; then fail "vigil started without the drop-in"; fi
say "   systemctl start failed after $(($(now_ms) - t0)) ms: $(head -1 /tmp/start.err)"
news=$(journal_news vigil-alone)
echo "$news" | grep 'bgp' | head -1 | sed 's/^/   journal: /'
echo "$news" | grep -q '"event":"bgp.link_failed","interface":"vigil-live","operation":"create","error":"/dev/net/tun: No such file or directory"' ||
  fail "vigil did not say it cannot create the liveness device vigil-live (no /dev/net/tun)"
link_exists && fail "a liveness device exists although vigil could not start"
stop_clean vigil-alone

# Each line of the drop-in, left out, must fail the way it prevents.
bold "1b. the drop-in without DeviceAllow=/dev/net/tun rw (the node is there, the cgroup denies it)"
if systemctl start vigil-no-deviceallow 2>/dev/null; then fail "vigil started without DeviceAllow="; fi
news=$(journal_news vigil-no-deviceallow)
echo "$news" | grep 'bgp' | head -1 | sed 's/^/   journal: /'
echo "$news" | grep -q '"event":"bgp.link_failed","interface":"vigil-live","operation":"create","error":"/dev/net/tun: Operation not permitted"' ||
  fail "vigil did not say /dev/net/tun is not permitted"
stop_clean vigil-no-deviceallow

bold "1c. the drop-in without SupplementaryGroups=bird (BIRD's socket is bird:bird 0660)"
systemctl start vigil-no-group || fail "vigil did not start with the liveness device and no BIRD"
wait_until 20 "vigil's complaint about BIRD's socket" journal_has vigil-no-group 'bgp.bird_failed.*connect /run/bird/bird.ctl: Permission denied'
journal_news vigil-no-group | grep 'bgp.bird_failed' | head -1 | sed 's/^/   journal: /'
route_announced && fail "a route is announced although vigil cannot reach BIRD"
link_up && fail "the liveness device is up although BIRD was not told"
stop_clean vigil-no-group

bold "1d. the drop-in without ReadWritePaths=/run/vigil-bird (ProtectSystem=strict, ReadOnlyPaths=/run)"
systemctl start vigil-no-rw || fail "vigil did not start with the liveness device"
wait_until 20 "vigil's complaint about the include file" journal_has vigil-no-rw 'cannot write /run/vigil-bird/vigil.conf: Read-only file system'
journal_news vigil-no-rw | grep 'cannot write' | head -1 | sed 's/^/   journal: /'
route_announced && fail "a route is announced although vigil cannot write BIRD's include file"
stop_clean vigil-no-rw

bold "2. with the shipped drop-in: systemctl start vigil under the whole sandbox"
t0=$(now_ms)
# --man=no: man(1) under TCG takes seconds a page; the pages are there all the same.
if systemd-analyze verify --man=no "$unit" > /tmp/verify.out 2>&1; then
  say "   systemd-analyze verify vigil.service (unit + drop-in, $(($(now_ms) - t0)) ms): clean$(test -s /tmp/verify.out && echo ", notes: $(head -3 /tmp/verify.out | tr '\n' ' ')")"
else
  cat /tmp/verify.out
  fail "systemd-analyze verify vigil.service"
fi
t0=$(now_ms)
systemctl start "$unit" || fail "systemctl start vigil with the drop-in"
start_ms=$(($(now_ms) - t0))
say "RESULT systemctl start vigil (Type=notify: READY after the first IPVS reconcile): $start_ms ms"
[ "$(state)" = active ] || fail "vigil is $(state) after its start"
link_exists || fail "no liveness device vigil-live"
wait_until 30 "BIRD has $vip/32 from vigil" route_announced
say "RESULT route in BIRD $waited ms after the start returned (checks rise 2 x 1 s, hold-down 1 s)"
link_up || fail "vigil-live is not up while the route is announced"
say "   $(ip -o link show vigil-live | awk '{ print $2, $3 }')"
say "   BIRD: $(birdc -s /run/bird/bird.ctl show route "$vip/32" | grep "^$vip" | tr -s ' ')"
ipvsadm -Ln | grep -q "TCP  $vip:80 mh" || fail "no IPVS service $vip:80"
say "   IPVS: $(ipvsadm -Ln | grep -c -- '->.*Route') real servers behind $vip:80"
pid=$(main_pid)
# The sandbox the process really has.
capbnd=$(awk '/^CapBnd/ { print $2 }' "/proc/$pid/status")
# CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7), CAP_NET_ADMIN (12), CAP_NET_RAW (13)
[ "$capbnd" = 00000000000030e0 ] || fail "vigil's bounding set is $capbnd, not the unit's five capabilities"
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "NoNewPrivileges= not in effect"
grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" || fail "no system call filter in effect"
bird_gid=$(getent group bird | cut -d: -f3)
grep '^Groups:' "/proc/$pid/status" | grep -qw "$bird_gid" || fail "vigil is not in the group bird"
[ -c "/proc/$pid/root/dev/net/tun" ] || fail "no /dev/net/tun in vigil's /dev"
[ -e "/proc/$pid/root/dev/ttyS0" ] && fail "vigil's /dev is not private (ttyS0 is there)"
# Written through /proc/PID/root, a path goes through vigil's own mounts and their read-only flags.
for d in /etc /run /run/bird; do
  touch "/proc/$pid/root$d/vigil-write-test" 2>/dev/null && fail "$d is writable for vigil"
done
for d in /run/vigil /run/vigil-bird /var/lib/vigil; do
  touch "/proc/$pid/root$d/vigil-write-test" 2>/dev/null || fail "$d is not writable for vigil"
  rm -f "$d/vigil-write-test"
done
say "   vigil (pid $pid): CapBnd $capbnd, NoNewPrivs 1, seccomp filter, group bird ($bird_gid), private /dev with net/tun"
say "   read-only for vigil: /etc /run /run/bird; writable: /run/vigil /run/vigil-bird /var/lib/vigil"
say "   $(stat -c '%n %A %U:%G' /run/vigil-bird/vigil.conf)"

bold "3. systemctl stop vigil: withdrawn first, drain_wait, then the exit"
route_gone_ms=""; route_gone_state=""; route_gone_alive=""
t0=$(now_ms)
systemctl stop --no-block "$unit" || fail "systemctl stop --no-block"
while :; do
  if [ -z "$route_gone_ms" ] && ! route_announced; then
    # The route is gone: is the unit still stopping, its process still there?
    route_gone_ms=$(($(now_ms) - t0)); route_gone_state=$(state)
    if kill -0 "$pid" 2>/dev/null; then route_gone_alive=yes; else route_gone_alive=no; fi
  fi
  s=$(state)
  t=$(now_ms)
  [ "$s" = inactive ] || [ "$s" = failed ] && break
  [ $((t - t0)) -lt $((stop_timeout_ms + 5000)) ] || fail "vigil still $s $((t - t0)) ms after the stop"
  sleep 0.1
done
stop_ms=$(($(now_ms) - t0))
[ -n "$route_gone_ms" ] || route_gone_ms=$stop_ms
say "RESULT route withdrawn $route_gone_ms ms after systemctl stop (unit $route_gone_state, vigil alive: $route_gone_alive); stopped after $stop_ms ms"
if [ "$route_gone_state" != deactivating ] || [ "$route_gone_alive" != yes ]; then
  fail "the route was not withdrawn while vigil was still stopping"
fi
# From vigil's own log: SIGTERM received, then drain_wait, then the rest of the stop.
mono() { journalctl -u "$unit" -o short-monotonic --no-pager | grep "\"event\":\"$1\"" | tail -1 | sed 's/^\[ *\([0-9.]*\)\].*/\1/'; }
drained_ms=$(awk -v a="$(mono daemon.stopping)" -v b="$(mono ipvs.stopped)" 'BEGIN { printf "%d", (b - a) * 1000 }')
say "RESULT vigil's log: $drained_ms ms from daemon.stopping to ipvs.stopped (drain_wait $drain_wait_ms ms)"
[ "$drained_ms" -ge "$drain_wait_ms" ] || fail "vigil stopped $drained_ms ms after SIGTERM: drain_wait not honored"
[ "$stop_ms" -ge $((drain_wait_ms - 500)) ] || fail "the stop took $stop_ms ms: drain_wait ($drain_wait_ms ms) not honored"
[ "$stop_ms" -lt "$stop_timeout_ms" ] || fail "the stop took $stop_ms ms, TimeoutStopSec= is $stop_timeout_ms ms"
result=$(systemctl show -p Result --value "$unit")
[ "$result" = success ] || fail "the stop ended with Result=$result"
kill -0 "$pid" 2>/dev/null && fail "vigil (pid $pid) still runs after its stop"
link_exists && fail "vigil-live outlived vigil"
say "   Result=$result; vigil-live gone"

bold "4. SIGKILL of vigil's main process"
systemctl start "$unit" || fail "systemctl start vigil (again)"
wait_until 30 "BIRD has $vip/32 from vigil again" route_announced
pid=$(main_pid)
t0=$(now_ms)
kill -9 "$pid"
route_ms=""; link_ms=""
while [ -z "$route_ms" ] || [ -z "$link_ms" ]; do
  t=$(now_ms)
  [ -z "$route_ms" ] && ! route_announced && route_ms=$((t - t0))
  [ -z "$link_ms" ] && ! link_exists && link_ms=$((t - t0))
  [ $((t - t0)) -lt 10000 ] || fail "after SIGKILL: route gone after ${route_ms:-never}, device gone after ${link_ms:-never}"
  sleep 0.05
done
say "RESULT after SIGKILL: vigil-live gone after $link_ms ms, the route after $route_ms ms"
[ "$route_ms" -le 3000 ] || fail "the route outlived vigil by $route_ms ms (more than 3 s)"
restarted() { [ "$(systemctl show -p NRestarts --value "$unit")" = 1 ] && [ "$(state)" = active ]; }
wait_until 30 "systemd restarting vigil (Restart=on-failure)" restarted
say "RESULT Restart=on-failure: vigil active again $(($(now_ms) - t0)) ms after the SIGKILL (NRestarts=1)"
[ "$(main_pid)" != "$pid" ] || fail "no new main process"
systemctl stop "$unit" || fail "the final stop"

bold "done: the unit needs the drop-in, and with it vigil announces, drains and dies as designed"
exit 0
