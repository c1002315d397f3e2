#!/bin/sh
# The demo's IPVS lab: a client, two directors running vigil (MASTER and BACKUP) and three real
# servers, each in its own network namespace on one bridge. The client's requests go to the VIP,
# through the MASTER's kernel IPVS (direct routing) to a real server, which answers the client
# directly. The lab shows the election, a real server failing and coming back, a drain, a refused
# and an applied reload, the MASTER dying and the BACKUP taking over, and the old MASTER
# returning, printing `vigil status`, the kernel's table, new log events and the requests'
# answers between steps. Every step is also checked: any unexpected result exits 1.
#
#   ipvs_lab.sh VIGIL_BINARY      as root, on a kernel with IPVS (the host, or the qemu guest)
#
# POSIX sh on purpose: it runs unchanged inside the busybox guest. Env: IP (iproute2's ip with
# netns support, default ip), LAB_PREFIX (namespace prefix, default vl<pid>).
#
#      client 10.77.0.10
#          |                      VIP 10.77.0.100 on the MASTER (VRRP v3, VRID 51)
#   [br0 in namespace sw] ---- lb1 10.77.0.1 (priority 150), lb2 10.77.0.2 (priority 100)
#          |
#      rs1 10.77.0.11, rs2 10.77.0.12, rs3 10.77.0.13: busybox httpd; VIP on lo, ARP for it off
set -u
vigil=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
IP=${IP:-ip}
P=${LAB_PREFIX:-vl$$}
work=$(mktemp -d /tmp/vigil-lab.XXXXXX)
vip=10.77.0.100
pids=""

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf '\033[31mFAILED: %s\033[0m\n' "$*"; exit 1; }
in_ns() { ns=$1; shift; "$IP" netns exec "$P-$ns" "$@"; }
# Milliseconds since boot, 10 ms resolution (busybox date has no %N). The "1" keeps a leading
# zero in the fraction from reading as octal.
now_ms() { read -r up _ < /proc/uptime; echo $((${up%.*} * 1000 + 1${up#*.} * 10 - 1000)); }

cleanup() {
  for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
  for ns in client lb1 lb2 rs1 rs2 rs3 sw; do "$IP" netns del "$P-$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS WHAT COMMAND...: polls COMMAND every 100 ms; prints how long it took.
wait_until() {
  limit=$1; what=$2; shift 2
  start=$(now_ms)
  while ! "$@" >/dev/null 2>&1; do
    [ $(($(now_ms) - start)) -lt $((limit * 1000)) ] || fail "$what: not within ${limit}s"
    sleep 0.1
  done
  echo "   $what after $(($(now_ms) - start)) ms"
}

has_vip() { in_ns "$1" "$IP" -o addr show dev eth0 | grep -q " $vip/"; }
lacks_vip() { ! has_vip "$1"; }
# is_master NODE: vigil reports MASTER and the VIP is on the interface.
is_master() {
  in_ns "$1" "$vigil" status -s "$work/$1/vigil.sock" | grep -Eq '^VI_1 +eth0 +51 +MASTER ' &&
    has_vip "$1"
}
# ipvs_has NODE RS: the director's kernel IPVS table has RS as a destination of the VIP.
ipvs_has() { in_ns "$1" ipvsadm -Ln -t "$vip:80" | grep -q -- "-> $2:80"; }
ipvs_lacks() { ! ipvs_has "$@"; }
weight_is() { in_ns "$1" ipvsadm -Ln -t "$vip:80" | grep -Eq -- "-> $2:80 +Route +$3 "; }

status() {
  echo "-- vigil status on $1:"
  in_ns "$1" "$vigil" status -s "$work/$1/vigil.sock" | sed 's/^/   /'
}
kernel_table() {
  echo "-- ipvsadm -Ln on $1 (the kernel's table, as vigil programmed it):"
  in_ns "$1" ipvsadm -Ln -t "$vip:80" | sed 's/^/   /'
}
# new_events NODE: the log events NODE wrote since the last call.
new_events() {
  log=$work/$1/events.log; seen=$work/$1/events.seen
  [ -f "$seen" ] || echo 0 > "$seen"
  total=$(wc -l < "$log")
  echo "-- new log events on $1:"
  sed -n "$(($(cat "$seen") + 1)),\$p" "$log" | sed 's/^/   /'
  echo "$total" > "$seen"
}

# traffic N [EXPECT...]: N requests from the client to the VIP; prints who answered each. Every
# request must succeed; each EXPECTed real server must answer at least once and no other may.
traffic() {
  n=$1; shift
  echo "-- $n requests from the client to http://$vip/:"
  c1=0; c2=0; c3=0; i=0; line=""
  while [ $i -lt "$n" ]; do
    i=$((i + 1))
    # busybox wget -T can crash; bound it with timeout instead.
    answer=$(in_ns client timeout 5 busybox wget -q -O - "http://$vip/") ||
      fail "request $i to the VIP got no answer"
    case $answer in
      *rs1*) c1=$((c1 + 1)); line="$line rs1" ;;
      *rs2*) c2=$((c2 + 1)); line="$line rs2" ;;
      *rs3*) c3=$((c3 + 1)); line="$line rs3" ;;
      *) fail "request $i: unexpected answer '$answer'" ;;
    esac
  done
  echo "   answered by:$line   (rs1=$c1 rs2=$c2 rs3=$c3)"
  for rs in rs1 rs2 rs3; do
    eval "count=\$c${rs#rs}"
    case " $* " in
      *" $rs "*) [ "$count" -gt 0 ] || fail "$rs should have answered" ;;
      *) [ "$count" -eq 0 ] || fail "$rs answered but should be out of rotation" ;;
    esac
  done
}

# Started with "$IP" netns exec directly, not through in_ns: $! must be the server's own pid
# (ip execs it), not a subshell's.
start_httpd() { # rsN
  "$IP" netns exec "$P-$1" busybox httpd -f -p 80 -h "$work/$1/www" &
  echo $! > "$work/$1/httpd.pid"; pids="$pids $!"
}
start_vigil() { # lbN
  "$IP" netns exec "$P-$1" "$vigil" run -c "$work/$1/vigil.toml" 2>>"$work/$1/stderr.log" &
  echo $! > "$work/$1/vigil.pid"; pids="$pids $!"
}

write_config() { # lbN PRIORITY [RS1_WEIGHT]
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

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 51
priority = $2
version = 3
advert_interval = "1s"
virtual_ipaddress = ["$vip/24"]
EOF
  cat > "$work/$1/conf.d/web.toml" <<EOF
[virtual_server]
address = "$vip:80"
protocol = "tcp"
scheduler = "rr"
forwarding = "dr"
check = { type = "http", path = "/health", interval = "1s", timeout = "1s", rise = 2, fall = 2 }

[[virtual_server.real_server]]
address = "10.77.0.11:80"
weight = ${3:-1}

[[virtual_server.real_server]]
address = "10.77.0.12:80"

[[virtual_server.real_server]]
address = "10.77.0.13:80"
EOF
}

bold "building the lab: client, two directors, three real servers (namespaces $P-*)"
sed -n '/^#      client/,/^#      rs1/p' "$0" | sed 's/^#/ /'
"$IP" netns add "$P-sw" || fail "cannot create network namespaces"
"$IP" -n "$P-sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
"$IP" -n "$P-sw" link set br0 up
for node in client:10 lb1:1 lb2:2 rs1:11 rs2:12 rs3:13; do
  name=${node%%:*}; host=${node#*:}
  "$IP" netns add "$P-$name"
  "$IP" -n "$P-sw" link add "$name" type veth peer name eth0 netns "$P-$name"
  "$IP" -n "$P-sw" link set "$name" master br0 up
  "$IP" -n "$P-$name" addr add "10.77.0.$host/24" dev eth0
  "$IP" -n "$P-$name" link set lo up
  "$IP" -n "$P-$name" link set eth0 up
done
for rs in rs1 rs2 rs3; do
  # Direct routing: the real server accepts the VIP on lo but never answers ARP for it.
  in_ns "$rs" sh -c 'echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore &&
                     echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce'
  "$IP" -n "$P-$rs" addr add "$vip/32" dev lo
  mkdir -p "$work/$rs/www"
  echo "hello from $rs" > "$work/$rs/www/index.html"
  echo ok > "$work/$rs/www/health"
  start_httpd "$rs"
done
write_config lb1 150
write_config lb2 100

bold "starting vigil on both directors: lb1 (priority 150) must win the election"
start_vigil lb1
start_vigil lb2
wait_until 30 "lb1 is MASTER and holds the VIP" is_master lb1
for rs in 10.77.0.11 10.77.0.12 10.77.0.13; do
  wait_until 30 "$rs is healthy in lb1's IPVS table" ipvs_has lb1 "$rs"
done
has_vip lb2 && fail "lb2 holds the VIP as well"
status lb1
status lb2
kernel_table lb1
new_events lb1
traffic 6 rs1 rs2 rs3

bold "stopping the web server on rs2: vigil's health check fails and removes it"
kill "$(cat "$work/rs2/httpd.pid")"
wait_until 30 "rs2 removed from lb1's IPVS table" ipvs_lacks lb1 10.77.0.12
wait_until 30 "rs2 removed from lb2's IPVS table" ipvs_lacks lb2 10.77.0.12
status lb1
kernel_table lb1
new_events lb1
traffic 6 rs1 rs3

bold "starting rs2's web server again: two good checks (rise = 2) bring it back"
start_httpd rs2
wait_until 30 "rs2 back in lb1's IPVS table" ipvs_has lb1 10.77.0.12
status lb1
kernel_table lb1
new_events lb1
traffic 6 rs1 rs2 rs3

bold "an operator drains rs3 on lb1: weight 0, so no new connections go there"
in_ns lb1 "$vigil" drain web 10.77.0.13:80 -s "$work/lb1/vigil.sock"
wait_until 10 "rs3 has weight 0 in lb1's IPVS table" weight_is lb1 10.77.0.13 0
status lb1
traffic 6 rs1 rs2
in_ns lb1 "$vigil" undrain web 10.77.0.13:80 -s "$work/lb1/vigil.sock"
wait_until 10 "rs3 has weight 1 again after undrain" weight_is lb1 10.77.0.13 1
new_events lb1

bold "reload on lb1: a broken file is refused and changes nothing; a good one applies only the difference"
sed -i 's/scheduler = "rr"/scheduler = "fastest"/' "$work/lb1/conf.d/web.toml"
if in_ns lb1 "$vigil" reload -s "$work/lb1/vigil.sock"; then fail "a broken config was applied"; fi
write_config lb1 150 2
in_ns lb1 "$vigil" reload -s "$work/lb1/vigil.sock" || fail "the good config was refused"
wait_until 10 "rs1 has weight 2 in lb1's IPVS table" weight_is lb1 10.77.0.11 2
is_master lb1 || fail "lb1 lost MASTER over a reload"
status lb1
kernel_table lb1
new_events lb1

bold "the MASTER dies: vigil on lb1 is killed (SIGKILL) and lb1's link goes down"
kill -9 "$(cat "$work/lb1/vigil.pid")"
"$IP" -n "$P-lb1" link set eth0 down
# The BACKUP declares the MASTER dead 3 advert intervals + skew time after its last advert.
wait_until 30 "lb2 is MASTER and took the VIP" is_master lb2
status lb2
kernel_table lb2
new_events lb2
traffic 6 rs1 rs2 rs3

bold "lb1 comes back: it clears the VIP left from its crash, then preempts with priority 150"
"$IP" -n "$P-lb1" link set eth0 up
start_vigil lb1
wait_until 30 "lb1 is MASTER again" is_master lb1
wait_until 30 "lb2 released the VIP" lacks_vip lb2
for rs in 10.77.0.11 10.77.0.12 10.77.0.13; do
  wait_until 30 "$rs is healthy in lb1's IPVS table" ipvs_has lb1 "$rs"
done
status lb1
status lb2
new_events lb1
new_events lb2
traffic 6 rs1 rs2 rs3

bold "done: every request went through the MASTER's IPVS; cleaning up the lab"
