#!/bin/sh
# Runs INSIDE the IPVS guest. A client namespace reaches two real-server namespaces through a NAT
# virtual server on the director (the guest's root namespace); vigil programs the IPVS table.
#   client netns "cl" 192.168.50.2 --veth-- director 192.168.50.1 + VIP 192.168.50.100
#   rs1 10.0.1.2 and rs2 10.0.1.6, each in its own netns behind a /30 veth to the director;
#   rs1 also serves a sorry page on port 8080
# Needs iproute2's ip as /usr/sbin/ip2 (busybox ip has no netns support).
#   nat-lab.sh setup       build the namespaces and start busybox httpd in rs1 and rs2
#   nat-lab.sh traffic N   N requests from the client; prints "rs1=A rs2=B sorry=C"; fails if any
#                          request fails
set -e
IP=/usr/sbin/ip2
case "$1" in
setup)
  echo 1 > /proc/sys/net/ipv4/ip_forward
  mkdir -p /run/netns
  $IP netns add cl; $IP netns add rs1; $IP netns add rs2
  $IP link add vcl type veth peer name eth0 netns cl
  $IP link add vrs1 type veth peer name eth0 netns rs1
  $IP link add vrs2 type veth peer name eth0 netns rs2
  $IP addr add 192.168.50.1/24 dev vcl; $IP addr add 192.168.50.100/32 dev vcl
  $IP addr add 10.0.1.1/30 dev vrs1;    $IP addr add 10.0.1.5/30 dev vrs2
  for d in vcl vrs1 vrs2; do $IP link set $d up; done
  $IP -n cl addr add 192.168.50.2/24 dev eth0
  $IP -n rs1 addr add 10.0.1.2/30 dev eth0
  $IP -n rs2 addr add 10.0.1.6/30 dev eth0
  for n in cl rs1 rs2; do $IP -n $n link set lo up; $IP -n $n link set eth0 up; done
  $IP -n cl route add default via 192.168.50.1
  $IP -n rs1 route add default via 10.0.1.1
  $IP -n rs2 route add default via 10.0.1.5
  for n in rs1 rs2; do
    mkdir -p /srv/$n; echo "hello from $n" > /srv/$n/index.html
    $IP netns exec $n httpd -p 80 -h /srv/$n
  done
  mkdir -p /srv/sorry; echo "sorry, come back later" > /srv/sorry/index.html
  $IP netns exec rs1 httpd -p 8080 -h /srv/sorry
  ;;
traffic)
  ok1=0; ok2=0; sorry=0; i=0
  while [ $i -lt "$2" ]; do
    i=$((i + 1))
    # busybox 1.35 "wget -q -T 3" can segfault: bound it with timeout instead.
    r=$($IP netns exec cl timeout 5 wget -q -O - http://192.168.50.100/) || { echo "request $i failed"; exit 1; }
    case "$r" in
      *rs1*) ok1=$((ok1 + 1));; *rs2*) ok2=$((ok2 + 1));; *sorry*) sorry=$((sorry + 1));;
    esac
  done
  echo "rs1=$ok1 rs2=$ok2 sorry=$sorry"
  ;;
*) echo "usage: nat-lab.sh setup | traffic N" >&2; exit 2 ;;
esac
