#!/bin/sh
# ECMP lab: three active directors behind one router, each announcing the VIP over BGP (BIRD 2),
# the router spreading flows over them with ECMP; long-lived TCP flows must survive the death of
# the director they went through. Every director runs vigil programming the kernel's IPVS with the
# same `mh` (Maglev) table and direct routing to three real servers, and net.ipv4.vs.sloppy_tcp=1,
# so a director that never saw a flow's handshake takes it over mid-stream and sends it to the same
# real server.
#
#   ecmp_lab.sh VIGIL FLOW_ECHO     as root, on a kernel with IPVS (the qemu guest)
#
# Each trial takes one director down (its link first, then SIGKILL of its BIRD and vigil: the host
# is gone, and the router learns it from BFD), measures the time until the router's kernel FIB has
# the two others as next hops, waits until every flow echoes again and counts the survivors; then
# brings the director back (vigil first, BIRD once its IPVS table is complete) and counts again.
# Prints the spread of the flows over the directors, per-trial figures and their median/max, and
# exits 1 unless every flow survived every trial.
#
# With ANNOUNCE=vigil the directors' routes are vigil's announcements, and each trial first kills
# only vigil on the director (its route must leave the router's FIB within 3 s, the flows must
# survive), then the whole director.
#
# POSIX sh: it runs inside the busybox guest. Env: IP (iproute2's ip, default ip), BIRD (default
# bird), ANNOUNCE (bird or vigil, default vigil), TRIALS (default 3), FLOWS (default 30),
# BFD_MULTIPLIER (default 10), LAB_PREFIX (namespace prefix, default el<pid>).
#
#   client 10.78.1.10 --- 10.78.1.1 router 10.78.0.1 (BIRD: AS 65000, ECMP into its FIB, BFD)
#                                      |
#   [br0 in namespace sw] --- d1 10.78.0.11, d2 10.78.0.12, d3 10.78.0.13 (BIRD: AS 65001, IPVS)
#                                      |            VIP 10.78.9.100/32 on lo, tcp port 7, mh
#                             rs1 10.78.0.21, rs2 10.78.0.22, rs3 10.78.0.23: echo service on
#                             port 7, VIP on lo, ARP for it off, default route via the router
set -u
vigil=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
flow_echo=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
IP=${IP:-ip}
BIRD=${BIRD:-bird}
TRIALS=${TRIALS:-3}
FLOWS=${FLOWS:-30}
P=${LAB_PREFIX:-el$$}
work=$(mktemp -d /tmp/vigil-ecmp.XXXXXX)
vip=10.78.9.100
port=7
directors="d1 d2 d3"
# BFD between the router and the directors: a dead director is detected after this many 100 ms
# intervals without its packets. Under TCG on a loaded host the guest can stall for longer than
# that, so a session may flap now and then; the flows must survive that too.
bfd_multiplier=${BFD_MULTIPLIER:-10}
# Who announces the VIP on the directors: "vigil" (its announce, a BIRD static route via vigil's
# liveness device, withdrawn when vigil dies) or "bird" (a static route of BIRD's own, with vigil
# programming IPVS only).
ANNOUNCE=${ANNOUNCE:-vigil}
pids=""

say() { printf '%s\n' "$*"; }
bold() { printf '\n== %s\n' "$*"; }
fail() {
  printf 'FAILED: %s\n' "$*"
  for ns in router d1 d2 d3; do
    [ -f "$work/$ns/bird.log" ] && { say "-- last of $ns's bird.log:"; tail -5 "$work/$ns/bird.log"; }
  done
  for ns in d1 d2 d3; do
    [ -f "$work/$ns/events.log" ] && { say "-- last of $ns's vigil events:"; tail -5 "$work/$ns/events.log"; }
    [ -s "$work/$ns/vigil.stderr" ] && { say "-- $ns's vigil stderr:"; tail -5 "$work/$ns/vigil.stderr"; }
  done
  exit 1
}
in_ns() { ns=$1; shift; "$IP" netns exec "$P-$ns" "$@"; }
# Milliseconds since boot, 10 ms resolution (busybox date has no %N).
now_ms() { read -r up _ < /proc/uptime; echo $((${up%.*} * 1000 + 1${up#*.} * 10 - 1000)); }

cleanup() {
  for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
  for ns in client router d1 d2 d3 rs1 rs2 rs3 sw; do "$IP" netns del "$P-$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 50 ms; sets $waited to the time it took.
wait_until() {
  limit=$1; what=$2; shift 2
  start=$(now_ms)
  while ! "$@" >/dev/null 2>&1; do
    [ $(($(now_ms) - start)) -lt $((limit * 1000)) ] || fail "$what: not within ${limit}s"
    sleep 0.05
  done
  waited=$(($(now_ms) - start))
}

address_of() { echo "10.78.0.1${1#d}"; }

# The router's next hops for the VIP, sorted, one line: "10.78.0.11 10.78.0.13".
fib_hops() {
  in_ns router "$IP" route show "$vip/32" | grep -o 'via [0-9.]*' | awk '{print $2}' | sort | tr '\n' ' ' | sed 's/ $//'
}
fib_is() { [ "$(fib_hops)" = "$1" ]; }
hops_of() { # director names -> their addresses, as fib_hops prints them
  for d in "$@"; do address_of "$d"; done | sort | tr '\n' ' ' | sed 's/ $//'
}

# Route and link monitors (`ip -ts monitor`, one per namespace watched) stamp each kernel event
# as they receive it, with microseconds: the time between two events is measured from those
# stamps, not from this script's polling, which would measure the guest's slowness.
# event_time FILE AFTER_LINE PATTERN: seconds of the day of the first event after line AFTER_LINE
# of FILE whose first line contains PATTERN (awk regex), or nothing.
event_time() {
  tail -n +$(($2 + 1)) "$1" | awk -v pattern="$3" '/^\[/ && $0 ~ pattern {
      split(substr($0, 13, 15), t, ":"); printf "%.6f", t[1] * 3600 + t[2] * 60 + t[3]; exit }'
}
# between_ms T0 T1: milliseconds from T0 to T1 (seconds of the day; across midnight too).
between_ms() { awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d < -43200) d += 86400; printf "%d", d * 1000 }'; }

# The director's IPVS destinations of the VIP, in the kernel's order, with weights.
ipvs_table() { in_ns "$1" ipvsadm -Ln -t "$vip:$port" | awk '/->/ && $2 != "RemoteAddress:Port" {print $2, $3, $4}'; }
table_complete() { [ "$(ipvs_table "$1" | wc -l)" -eq 3 ]; }

# Client ports of the flows a director carries now: connection entries refreshed within the last
# 2 s (the established timeout is 10 s, and every flow writes every 100 ms).
active_ports() {
  in_ns "$1" ipvsadm -Lnc | awk -v vip="$vip:$port" '$5 == vip && $3 == "ESTABLISHED" {
      split($2, t, ":"); if (t[1] * 60 + t[2] >= 8) { n = split($4, s, ":"); print s[n] } }' | sort -u
}

# ask_report: the flows' report, fresh; sets ok stalled broken.
ask_report() {
  rm -f "$work/flows.report"
  kill -USR1 "$client_pid" 2>/dev/null || fail "the flows' client died"
  i=0
  while [ ! -f "$work/flows.report" ]; do
    i=$((i + 1)); [ $i -lt 600 ] || fail "the flows' client wrote no report within 30 s"
    sleep 0.05
  done
  set -- $(head -1 "$work/flows.report")
  ok=$4; stalled=$6; broken=$8
  gap=$(awk '$1 == "flow" { if ($14 > m) m = $14 } END { print m + 0 }' "$work/flows.report")
  [ "$gap" -gt "$trial_gap" ] && trial_gap=$gap
  return 0
}
# settle SECONDS: waits until no flow is stalled (each one echoes again or has broken).
settle() {
  start_settle=$(now_ms)
  while :; do
    ask_report
    [ "$stalled" -eq 0 ] && return 0
    [ $(($(now_ms) - start_settle)) -lt $(($1 * 1000)) ] || return 1
    sleep 0.3
  done
}
# survivors PORTS...: how many of those flows are ok in the last report.
survivors() {
  n=0
  for p in "$@"; do
    awk -v p="$p" '$1 == "flow" && $4 == p && $8 == "ok" { found = 1 } END { exit !found }' \
      "$work/flows.report" && n=$((n + 1))
  done
  echo $n
}

write_bird_router() {
  mkdir -p "$work/router"
  cat > "$work/router/bird.conf" <<EOF
log "$work/router/bird.log" { info, remote, warning, error, auth, fatal, bug, trace };
debug protocols { states };
router id 10.78.0.1;
protocol device { scan time 10; }
# Equal BGP routes from several directors become one multipath route in the kernel.
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
protocol bfd { interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; multiplier $bfd_multiplier; }; }
template bgp director {
  local 10.78.0.1 as 65000;
  ipv4 { import all; export none; };
  bfd on;
  hold time 3; keepalive time 1;
  connect delay time 1; connect retry time 1; error wait time 1, 2;
}
EOF
  for d in $directors; do
    echo "protocol bgp $d from director { neighbor $(address_of "$d") as 65001; }" >> "$work/router/bird.conf"
  done
}

write_bird_director() { # dN
  if [ "$ANNOUNCE" = vigil ]; then
    # vigil writes its static protocols (one per announced prefix) into this folder.
    mkdir -p "$work/$1/bird"
    announce='include "'"$work/$1"'/bird/*.conf";
filter vigil_export { if proto ~ "vigil_*" then accept; reject; }'
    export_filter='filter vigil_export'
  else
    # Announced while BIRD runs, whatever vigil does.
    announce="protocol static vip { ipv4; route $vip/32 blackhole; }"
    export_filter='where proto = "vip"'
  fi
  cat > "$work/$1/bird.conf" <<EOF
log "$work/$1/bird.log" { info, remote, warning, error, auth, fatal, bug };
router id $(address_of "$1");
protocol device { scan time 10; }
$announce
protocol bfd { interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; multiplier $bfd_multiplier; }; }
protocol bgp uplink {
  local $(address_of "$1") as 65001;
  neighbor 10.78.0.1 as 65000;
  ipv4 { import none; export $export_filter; };
  bfd on;
  hold time 3; keepalive time 1;
  connect delay time 1; connect retry time 1; error wait time 1, 2;
}
EOF
}

write_vigil() { # dN
  mkdir -p "$work/$1/conf.d"
  cat > "$work/$1/vigil.toml" <<EOF
[global]
node = "$1"
include = ["conf.d/*.toml"]
control_socket = "$work/$1/vigil.sock"
state_dir = "$work/$1/state"

[global.ipvs]
backend = "netlink"

[global.log]
target = "$work/$1/events.log"
format = "text"
EOF
  announce=""
  if [ "$ANNOUNCE" = vigil ]; then
    # The VIP goes on lo (vigil adds it) and is announced while the quorum holds and vigil lives.
    cat >> "$work/$1/vigil.toml" <<EOF

[global.bgp]
bird_socket = "$work/$1/bird.ctl"
include_file = "$work/$1/bird/vigil.conf"
liveness_interface = "vigil-live"
vip_interface = "lo"
hold_down = "1s"
drain_wait = "0s"
EOF
    announce="announce = {}"
  fi
  # The same real servers in the same order with the same weights on every director: the same
  # Maglev table, so a flow reaches the same real server whichever director ECMP picks.
  cat > "$work/$1/conf.d/echo.toml" <<EOF
[virtual_server]
name = "echo"
address = "$vip:$port"
protocol = "tcp"
scheduler = "mh"
scheduler_flags = ["mh-port"]
forwarding = "dr"
check = { type = "tcp", interval = "1s", timeout = "1s", rise = 1, fall = 2 }
# A failed server keeps its place in the list at weight 0: the kernel builds the Maglev table in
# list order, and a removed server would come back at the end on one director only.
on_failure = "inhibit"
$announce

[[virtual_server.real_server]]
address = "10.78.0.21:$port"

[[virtual_server.real_server]]
address = "10.78.0.22:$port"

[[virtual_server.real_server]]
address = "10.78.0.23:$port"
EOF
}

# Started with "$IP" netns exec directly: $! is then the program's own pid (ip execs it).
start_vigil() {
  "$IP" netns exec "$P-$1" "$vigil" run -c "$work/$1/vigil.toml" 2>>"$work/$1/vigil.stderr" &
  echo $! > "$work/$1/vigil.pid"; pids="$pids $!"
}
start_bird() {
  "$IP" netns exec "$P-$1" "$BIRD" -f -c "$work/$1/bird.conf" -s "$work/$1/bird.ctl" \
    2>>"$work/$1/bird.stderr" &
  echo $! > "$work/$1/bird.pid"; pids="$pids $!"
  sleep 0.3
  { [ -f "/proc/$!/status" ] && ! grep -q '^State:.*Z' "/proc/$!/status"; } ||
    fail "BIRD on $1 did not start: $(cat "$work/$1/bird.stderr")"
}

bold "building the lab (namespaces $P-*)"
sed -n '/^#   client/,/^#   *port 7, VIP/p' "$0" | sed 's/^#/ /'
"$IP" netns add "$P-sw" || fail "cannot create network namespaces"
"$IP" -n "$P-sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
"$IP" -n "$P-sw" link set br0 up
for node in router:1 d1:11 d2:12 d3:13 rs1:21 rs2:22 rs3:23; do
  name=${node%%:*}; host=${node#*:}
  "$IP" netns add "$P-$name"
  "$IP" -n "$P-sw" link add "$name" type veth peer name eth0 netns "$P-$name"
  "$IP" -n "$P-sw" link set "$name" master br0 up
  "$IP" -n "$P-$name" addr add "10.78.0.$host/24" dev eth0
  "$IP" -n "$P-$name" link set lo up
  "$IP" -n "$P-$name" link set eth0 up
done
"$IP" netns add "$P-client"
"$IP" -n "$P-router" link add eth1 type veth peer name eth0 netns "$P-client"
"$IP" -n "$P-router" addr add 10.78.1.1/24 dev eth1
"$IP" -n "$P-router" link set eth1 up
"$IP" -n "$P-client" addr add 10.78.1.10/24 dev eth0
"$IP" -n "$P-client" link set lo up
"$IP" -n "$P-client" link set eth0 up
"$IP" -n "$P-client" route add default via 10.78.1.1
# The router forwards, and hashes flows on their ports too (L4), so one client's connections
# spread over the directors.
in_ns router sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
  net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 || fail "router sysctls"
for ns in d1 d2 d3 rs1 rs2 rs3; do
  # The VIP on lo, never answered or announced by ARP on eth0.
  in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 ||
    fail "$ns: ARP sysctls"
  case "$ANNOUNCE $ns" in
    "vigil d"*) ;;  # vigil puts it there
    *) "$IP" -n "$P-$ns" addr add "$vip/32" dev lo ;;
  esac
  "$IP" -n "$P-$ns" route add default via 10.78.0.1
done
for d in $directors; do
  # A director takes over a flow mid-stream; established entries expire 10 s after the flow's
  # last packet here (15 min by default), so the table shows which director carries a flow now.
  in_ns "$d" sysctl -qw net.ipv4.vs.sloppy_tcp=1 || fail "$d: net.ipv4.vs.sloppy_tcp"
  in_ns "$d" ipvsadm --set 10 10 10 || fail "$d: ipvsadm --set"
done
for rs in rs1 rs2 rs3; do
  "$IP" netns exec "$P-$rs" "$flow_echo" serve "$port" "$rs" &
  pids="$pids $!"
done

bold "starting vigil and BIRD on three directors, BIRD on the router (announced by $ANNOUNCE)"
write_bird_router
for d in $directors; do
  write_vigil "$d"
  write_bird_director "$d"
  [ "$ANNOUNCE" = vigil ] && start_bird "$d"
  start_vigil "$d"
done
for d in $directors; do
  wait_until 30 "$d's IPVS table holds the three real servers" table_complete "$d"
done
reference=$(ipvs_table d1)
for d in $directors; do
  [ "$(ipvs_table "$d")" = "$reference" ] || fail "$d's IPVS destinations differ from d1's"
done
say "   the same destinations in the same order on every director (mh):"
echo "$reference" | sed 's/^/     /'
if [ "$ANNOUNCE" = vigil ]; then
  # vigil doctor on a director of this kernel: announced, the echo service needs sloppy TCP and
  # the mh scheduler; each finding goes once its fix is applied.
  doctor() { in_ns d1 "$vigil" doctor -c "$1" > "$work/doctor.out" 2>&1; }
  in_ns d1 sysctl -qw net.ipv4.vs.sloppy_tcp=0
  doctor "$work/d1/vigil.toml"
  grep -q 'net.ipv4.vs.sloppy_tcp is 0 while virtual server echo is announced' "$work/doctor.out" ||
    fail "vigil doctor missed sloppy_tcp off: $(cat "$work/doctor.out")"
  say "   vigil doctor on d1: $(grep -o 'net.ipv4.vs.sloppy_tcp is 0[^:]*' "$work/doctor.out")"
  in_ns d1 sysctl -qw net.ipv4.vs.sloppy_tcp=1
  doctor "$work/d1/vigil.toml"
  grep -q sloppy "$work/doctor.out" && fail "vigil doctor still finds sloppy_tcp off: $(cat "$work/doctor.out")"
  mkdir -p "$work/wlc/conf.d"
  cp "$work/d1/vigil.toml" "$work/wlc/"
  sed -e 's/scheduler = "mh"/scheduler = "wlc"/' -e '/scheduler_flags/d' "$work/d1/conf.d/echo.toml" > "$work/wlc/conf.d/echo.toml"
  doctor "$work/wlc/vigil.toml"
  grep -q 'virtual server echo is announced over BGP but uses scheduler wlc' "$work/doctor.out" ||
    fail "vigil doctor missed the wlc scheduler: $(cat "$work/doctor.out")"
  say "   vigil doctor on a copy with scheduler wlc: $(grep -o 'virtual server echo is announced over BGP but uses scheduler wlc' "$work/doctor.out")"
  doctor "$work/d1/vigil.toml"
  grep -q 'announced over BGP but uses' "$work/doctor.out" && fail "vigil doctor finds fault with mh: $(cat "$work/doctor.out")"
fi
start_bird router
[ "$ANNOUNCE" = vigil ] || for d in $directors; do start_bird "$d"; done
all=$(hops_of $directors)
"$IP" netns exec "$P-router" "$IP" -ts monitor route > "$work/router/routes.log" &
pids="$pids $!"
for d in $directors; do
  "$IP" netns exec "$P-$d" "$IP" -ts monitor link > "$work/$d/links.log" &
  pids="$pids $!"
done
wait_until 60 "the router's FIB has the three directors" fib_is "$all"
say "   router: $("$IP" -n "$P-router" route show "$vip/32" | tr '\n\t' '  ' | tr -s ' ')"

bold "$FLOWS long-lived TCP flows from the client to $vip:$port, one line per flow every 100 ms"
"$IP" netns exec "$P-client" "$flow_echo" flows "$vip" "$port" "$FLOWS" 100 "$work/flows.report" &
client_pid=$!; pids="$pids $client_pid"
trial_gap=0
sleep 2
settle 20 || fail "the flows did not all start"
[ "$ok" -eq "$FLOWS" ] || fail "only $ok of $FLOWS flows work before any director died"
say "   $ok of $FLOWS flows echo; real servers: $(awk '$1 == "flow" {print $6}' "$work/flows.report" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')"

# One death of VICTIM and its return. KIND "host": its link goes down, then BIRD and vigil get
# SIGKILL (the host is gone; the router learns it from BFD). KIND "vigil": only vigil gets SIGKILL
# (its liveness device goes with it, and BIRD withdraws the route it held up). Appends to the
# figures of that kind and counts steps that lost flows in $failures.
death() { # KIND VICTIM
  kind=$1; victim=$2; step=$((step + 1))
  others=$(for d in $directors; do [ "$d" = "$victim" ] || echo "$d"; done)
  sleep 2.5  # the connection entries of flows that moved in the previous step have aged
  spread=""
  for d in $directors; do
    active_ports "$d" > "$work/$d.ports"
    spread="$spread $d=$(wc -l < "$work/$d.ports")"
  done
  victims=$(cat "$work/$victim.ports")
  nvictims=$(echo $victims | wc -w)
  case $kind in
    host) what="$victim dies (link down, then SIGKILL of BIRD and vigil)" ;;
    vigil) what="vigil on $victim dies (SIGKILL; BIRD and IPVS stay)" ;;
  esac
  bold "trial $trial/$TRIALS: $what; flows:$spread"
  trial_gap=0
  ask_report
  log_mark=$(wc -l < "$work/router/bird.log")
  route_mark=$(wc -l < "$work/router/routes.log")
  link_mark=$(wc -l < "$work/$victim/links.log")
  if [ "$kind" = host ]; then
    "$IP" -n "$P-$victim" link set eth0 down
    kill -9 "$(cat "$work/$victim/bird.pid")" "$(cat "$work/$victim/vigil.pid")"
  else
    kill -9 "$(cat "$work/$victim/vigil.pid")"
  fi
  wait_until 10 "the router's FIB drops $victim" fib_is "$(hops_of $others)"
  # From the kernel's event of the death (eth0 down; vigil's liveness device gone) to the VIP's
  # route changing in the router's kernel.
  case $kind in
    host) died=$(event_time "$work/$victim/links.log" "$link_mark" '] [0-9]+: eth0@.* state DOWN') ;;
    # The device goes down (what BIRD reacts to) before it is deleted.
    vigil) died=$(event_time "$work/$victim/links.log" "$link_mark" '] (Deleted )?[0-9]+: vigil-live') ;;
  esac
  routed=$(event_time "$work/router/routes.log" "$route_mark" "] $vip ")
  [ -n "$died" ] || fail "$victim's link monitor did not see its death"
  [ -n "$routed" ] || fail "the router's route monitor did not see the VIP's route change"
  fib_ms=$(between_ms "$died" "$routed")
  settle 60 || say "   flows still stalled after 60 s"
  alive=$ok
  victims_alive=$(survivors $victims)
  case $kind in
    host) say "   router FIB without $victim after $fib_ms ms (BFD $bfd_multiplier x 100 ms); flows stood still up to $trial_gap ms" ;;
    vigil) say "   router FIB without $victim after $fib_ms ms; flows stood still up to $trial_gap ms" ;;
  esac
  # What the router's BIRD saw since the marker (BGP session changes).
  tail -n +$((log_mark + 1)) "$work/router/bird.log" | grep -E " d[0-9]+: State changed to (stop|up)" |
    head -4 | sed 's/^/     router BIRD: /'
  say "   survivors: $alive of $FLOWS flows, $victims_alive of the $nvictims that went through $victim"
  eval "${kind}_fib=\"\$${kind}_fib $fib_ms\"; ${kind}_gaps=\"\$${kind}_gaps $trial_gap\""
  eval "${kind}_down=\"\$${kind}_down $((alive * 1000 / FLOWS))\""
  [ "$alive" -eq "$FLOWS" ] || failures=$((failures + 1))
  [ "$broken" -gt 0 ] && grep broken "$work/flows.report" | head -5 | sed 's/^/     /'
  if [ "$kind" = vigil ] && [ "$fib_ms" -gt 3000 ]; then
    say "   the withdrawal took longer than 3 s"
    failures=$((failures + 1))
  fi

  # The director returns. The kernel kept its IPVS table; vigil reconciles it, and the route is
  # announced again only once the table is complete (by BIRD started after it, or by vigil's
  # announcement after its hold-down).
  if [ "$kind" = host ]; then
    "$IP" -n "$P-$victim" link set eth0 up
  fi
  if [ "$ANNOUNCE" = vigil ]; then
    [ "$kind" = host ] && start_bird "$victim"
    start_vigil "$victim"
  else
    start_vigil "$victim"
    wait_until 30 "$victim's IPVS table is complete again" table_complete "$victim"
    start_bird "$victim"
  fi
  wait_until 60 "the router's FIB has $victim again" fib_is "$all"
  back_ms=$waited
  [ "$(ipvs_table "$victim")" = "$reference" ] || fail "$victim's IPVS destinations changed"
  settle 60 || say "   flows still stalled after 60 s"
  say "   $victim back in the router's FIB after $back_ms ms; survivors: $ok of $FLOWS flows"
  eval "${kind}_back=\"\$${kind}_back $((ok * 1000 / FLOWS))\""
  [ "$ok" -eq "$FLOWS" ] || failures=$((failures + 1))
  # Broken flows stay broken: later steps count against what is left.
}

# The control: how long flows stand still while nothing happens (a stalled guest, TCP's own
# pace), to read the pauses after a death against.
trial_gap=0
ask_report
sleep 5
trial_gap=0
ask_report
say "   with nothing dying for 5 s the flows stood still up to $trial_gap ms"
quiet_gap=$trial_gap
host_fib=""; host_gaps=""; host_down=""; host_back=""
vigil_fib=""; vigil_gaps=""; vigil_down=""; vigil_back=""
kinds=host
[ "$ANNOUNCE" = vigil ] && kinds="vigil host"
failures=0; step=0; trial=1
while [ "$trial" -le "$TRIALS" ]; do
  victim=$(echo $directors | awk -v t="$trial" '{ print $((t - 1) % NF + 1) }')
  for kind in $kinds; do death "$kind" "$victim"; done
  trial=$((trial + 1))
done

# stats "1 5 3": "median M max X" (lower median for an even count).
stats() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "median %d max %d (n=%d)", v[int((NR + 1) / 2)], v[NR], NR }'; }
minstats() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "median %d.%d%% min %d.%d%% (n=%d)", v[int((NR + 1) / 2)] / 10, v[int((NR + 1) / 2)] % 10, v[1] / 10, v[1] % 10, NR }'; }
bold "results over $TRIALS trials, $FLOWS flows"
if [ "$ANNOUNCE" = vigil ]; then
  say "RESULT vigil SIGKILL -> router FIB updated, ms: $(stats $vigil_fib)"
  say "RESULT longest pause of a flow after vigil's death, ms: $(stats $vigil_gaps)"
  say "RESULT flows surviving vigil's death: $(minstats $vigil_down)"
  say "RESULT flows surviving vigil's return: $(minstats $vigil_back)"
fi
say "RESULT longest pause of a flow with nothing dying (5 s), ms: $quiet_gap"
say "RESULT director down (BFD) -> router FIB updated, ms: $(stats $host_fib)"
say "RESULT longest pause of a flow after a director's death, ms: $(stats $host_gaps)"
say "RESULT flows surviving a director's death: $(minstats $host_down)"
say "RESULT flows surviving its return: $(minstats $host_back)"
# Sessions lost beyond the killed directors' are BFD false alarms (a stalled guest).
lost=$(grep -cE ' d[0-9]+: State changed to stop' "$work/router/bird.log")
say "RESULT BGP sessions the router lost: $lost (the trials took $TRIALS director hosts down)"
kill -TERM "$client_pid"
[ "$failures" -eq 0 ] || fail "$failures of $((step * 2)) steps lost flows or withdrew late"
bold "done: every flow survived every director's death and return"
