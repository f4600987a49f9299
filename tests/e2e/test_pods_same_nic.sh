#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Both roles on one NIC (docs/pods.md "Both roles on one NIC", the DaemonSet
# case): the node "lb" runs one fluxlbd whose balancer and node role share
# its only NIC, eth0 (native XDP: the balancer, decap as its tail call; tc
# egress: the reverse NAT). Its three pods listen on 8080 with no VIP, no
# program, no sysctl. A second balancer "lb2" on the same segment tunnels to
# the node's pods. On one bridge: client, lb, lb2.
#   client -> VIP_A:80 -> lb (balancer) -> lb's own pods   (encapsulated, tail call, DNAT)
#   client -> VIP_B:80 -> lb2 (balancer) -> lb's NIC       (tail call from parse, DNAT)
# IPv4 and IPv6, real connections: which pod answered, `fluxlb which` names
# it, replies leave as VIP:80 (the client's TCP accepts nothing else, and
# rnat_ok counts them), and decap counted the tail-called packets.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbsn$$
NBACKENDS=0
VIP_B=10.100.0.2
VIP6_B=fd00:100::2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip pods_same_nic "needs root (netns, XDP, tc)"
	exit 0
fi
NPODS=3
LB2_CONFIG=/run/$TOPO/lb2.yaml
LB2_LOG=/run/$TOPO/lb2.log
LB2_PIN=$BPFFS/lb2
MPORT=19748

down() {
	local n
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	PIDS=()
	for n in sw lb2 $(seq -f 'pod%g' 1 "$NPODS"); do
		ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	topo_down
}
trap down EXIT

PASS_O=$ROOT/build/tests/progs/xdp_pass.bpf.o

up() {
	local n i p
	mkdir -p "/run/$TOPO/bpffs"
	mount -t bpf bpf "$BPFFS"
	for n in sw cl lb lb2 $(seq -f 'pod%g' 1 "$NPODS"); do
		ip netns add "$(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
	# One segment: a bridge in "sw"; each port's veth peer is the host's
	# eth0 (c0 for the client). XDP_TX on a veth reaches the peer only if
	# the peer has an XDP program: xdp_pass on the switch ports.
	ip -n "$(ns sw)" link add br0 type bridge
	ip -n "$(ns sw)" link set br0 up
	for n in cl lb lb2; do
		local dev=eth0
		[ "$n" = cl ] && dev=c0
		ip -n "$(ns sw)" link add "s-$n" type veth peer name "$dev" netns "$(ns "$n")"
		ip -n "$(ns sw)" link set "s-$n" master br0 up
		ip -n "$(ns sw)" link set dev "s-$n" xdpdrv obj "$PASS_O" sec xdp
		ip -n "$(ns "$n")" link set "$dev" up
	done
	ip -n "$(ns cl)" addr add 10.10.1.2/24 dev c0
	ip -n "$(ns cl)" -6 addr add fd00:10:1::2/64 dev c0 nodad
	in_ns cl ethtool -K c0 tx off >/dev/null
	ip -n "$(ns cl)" link set dev c0 xdpdrv obj "$PASS_O" sec xdp
	ip -n "$(ns cl)" route add "$VIP/32" via 10.10.1.11
	ip -n "$(ns cl)" route add "$VIP_B/32" via 10.10.1.12
	ip -n "$(ns cl)" -6 route add "$VIP6/128" via fd00:10:1::11
	ip -n "$(ns cl)" -6 route add "$VIP6_B/128" via fd00:10:1::12
	for n in lb lb2; do
		in_ns "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.forwarding=1
	done
	ip -n "$(ns lb)" addr add 10.10.1.11/24 dev eth0
	ip -n "$(ns lb)" -6 addr add fd00:10:1::11/64 dev eth0 nodad
	ip -n "$(ns lb2)" addr add 10.10.1.12/24 dev eth0
	ip -n "$(ns lb2)" -6 addr add fd00:10:1::12/64 dev eth0 nodad
	# lb2 reaches the pods through their node, as a CNI's routes would.
	ip -n "$(ns lb2)" route add 10.20.0.0/24 via 10.10.1.11
	ip -n "$(ns lb2)" -6 route add fd00:20::/64 via fd00:10:1::11
	for i in $(seq 1 "$NPODS"); do
		p=pod$i
		ip -n "$(ns lb)" link add "p$i" type veth peer name eth0 netns "$(ns "$p")"
		ip -n "$(ns lb)" addr add 10.20.0.1/32 dev "p$i"
		ip -n "$(ns lb)" -6 addr add fd00:20::1/128 dev "p$i" nodad
		ip -n "$(ns lb)" link set "p$i" up
		ip -n "$(ns lb)" route add "10.20.0.1$i/32" dev "p$i"
		ip -n "$(ns lb)" -6 route add "fd00:20::1$i/128" dev "p$i"
		ip -n "$(ns "$p")" addr add "10.20.0.1$i/32" dev eth0
		ip -n "$(ns "$p")" -6 addr add "fd00:20::1$i/128" dev eth0 nodad
		ip -n "$(ns "$p")" link set eth0 up
		ip -n "$(ns "$p")" route add 10.20.0.1/32 dev eth0
		ip -n "$(ns "$p")" route add default via 10.20.0.1 dev eth0
		ip -n "$(ns "$p")" -6 route add fd00:20::1/128 dev eth0
		ip -n "$(ns "$p")" -6 route add default via fd00:20::1 dev eth0
		bg_in_ns "$p" "/run/$TOPO/pod-$i.log" python3 "$ROOT/tests/lib/httpd.py" "pod-$i" 8080
	done
	for a in 10.10.1.11 10.10.1.12; do in_ns cl ping -c1 -W1 "$a" >/dev/null || true; done
	for a in fd00:10:1::11 fd00:10:1::12; do in_ns cl ping -6 -c1 -W1 "$a" >/dev/null || true; done
	in_ns lb2 ping -c1 -W1 10.10.1.11 >/dev/null || true
	in_ns lb2 ping -6 -c1 -W1 fd00:10:1::11 >/dev/null || true
	for i in $(seq 1 "$NPODS"); do
		in_ns lb ping -c1 -W1 "10.20.0.1$i" >/dev/null || true
		in_ns lb ping -6 -c1 -W1 "fd00:20::1$i" >/dev/null || true
	done
}

# services ROLE: the same two services for both daemons (pods 1-3 on 8080).
services() {
	local v
	echo "services:"
	for v in "web $VIP" "webb $VIP_B" "web6 \"$VIP6\"" "webb6 \"$VIP6_B\""; do
		echo "  - {name: ${v%% *}, vip: ${v#* }, port: 80, backends: ["
		for i in $(seq 1 "$NPODS"); do
			case $v in
			*:*) echo "      {address: \"fd00:20::1$i\", port: 8080}," ;;
			*) echo "      {address: 10.20.0.1$i, port: 8080}," ;;
			esac
		done
		echo "    ]}"
	done
}

write_configs() {
	{
		echo "interfaces: [eth0]"
		echo "node:"
		echo "  bpffs: $PIN_BASE"
		echo "  pods: {interface: eth0, cidrs: [10.20.0.0/24, \"fd00:20::/64\"]}"
		echo "metrics: {listen: \"127.0.0.1:$MPORT\"}"
		services
	} >"$CONFIG"
	{
		echo "interfaces: [eth0]"
		echo "node: {bpffs: $LB2_PIN}"
		services
	} >"$LB2_CONFIG"
}

lb2_start() {
	: >>"$LB2_LOG"
	bg_in_ns lb2 "$LB2_LOG" "$BIN/fluxlbd" --config "$LB2_CONFIG"
	for _ in $(seq 1 100); do
		grep -q 'msg="ready"' "$LB2_LOG" && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "lb2's fluxlbd did not become ready; its log:" >&2
	cat "$LB2_LOG" >&2
	return 1
}

# count MAP REASON: a reason counter of the both-roles node, summed over CPUs.
count() {
	local idx abi
	idx=$(grep -o 'X([A-Z_0-9]*, *"[a-z_0-9]*"' "$ROOT/include/flb_reasons.h" |
		awk -v r="\"$2\"" '{ if ($2 == r) print NR - 1 }')
	abi=$(awk '/^#define FLB_ABI_VERSION/ { print $3 }' "$ROOT/include/flb_abi.h")
	bpftool -j map lookup pinned "$PIN_BASE/v$abi/$1" key "$idx" 0 0 0 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(int(v["value"]) if not isinstance(v["value"], list) else int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little") for v in d["values"]))'
}

up
write_configs
daemon_start || { fail lb_ready "fluxlbd (both roles) did not become ready"; exit 1; }
lb2_start || { fail lb2_ready "fluxlbd (second balancer) did not become ready"; exit 1; }
expect decap_runs_as_the_balancers_tail_call \
	grep -q 'msg="node role attached" iface=eth0 decap=balancer_tail_call' "$DAEMON_LOG"
expect the_nic_has_the_balancer_at_xdp_and_rnat_at_tc_egress in_ns lb sh -c \
	"ip -d link show dev eth0 | grep -q 'prog/xdp id [0-9]* name balancer ' &&
	 tc filter show dev eth0 egress | grep -q rnat"
expect pods_have_no_program_and_no_vip in_ns pod1 sh -c \
	"! ip link show eth0 | grep -q xdp && ! ip addr | grep -q '$VIP'"

dnat0=$(count flb_dcp_reasons decap_dnat)
for v in "$VIP 600 ipv4_lb_node_to_its_own_pods" "$VIP_B 600 ipv4_second_lb_tunnels_to_the_node" \
	"$VIP6 300 ipv6_lb_node_to_its_own_pods" "$VIP6_B 300 ipv6_second_lb_tunnels_to_the_node"; do
	set -- $v
	out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$1" 80 "$2")
	echo "  $1:80: $out"
	expect "$3" [ "$(echo "$out" | json_get "d['ok'] == $2 and sorted(d['by_backend']) == ['pod-1', 'pod-2', 'pod-3']")" = True ]
done
dnat=$(( $(count flb_dcp_reasons decap_dnat) - dnat0 ))
rnat=$(count flb_rnat_counts rnat_ok)
echo "  node counters: decap_dnat=+$dnat rnat_ok=$rnat decap_pass_other=$(count flb_dcp_reasons decap_pass_other) balancer fwd_redirect=$(count flb_reasons fwd_redirect)"
# Every connection's packets from the client were translated (at least SYN,
# ACK, request, ACK per connection) and the replies left as VIP:80.
expect decap_translated_both_paths [ "$dnat" -ge $((4 * 1800)) ]
expect replies_left_as_vip_80 [ "$rnat" -ge $((2 * 1800)) ]
expect balancer_redirected_nothing_to_a_pod_veth [ "$(count flb_reasons fwd_redirect)" -eq 0 ]

# which names the pod that answers, on both balancers, v4 and v6.
which_ok=true
translated_ok=true
for dst in "$VIP:80:lb" "[$VIP6]:80:lb" "$VIP_B:80:lb2" "[$VIP6_B]:80:lb2"; do
	who_ns=${dst##*:}
	dst=${dst%:*}
	pin=$PIN_BASE
	[ "$who_ns" = lb2 ] && pin=$LB2_PIN
	for sport in 41001 41002 41003; do
		src=10.10.1.2
		[ "${dst#[}" != "$dst" ] && src="[fd00:10:1::2]"
		w=$(in_ns "$who_ns" "$BIN/fluxlb" --bpffs "$pin" -j which tcp "$src:$sport" "$dst")
		who=$(echo "$w" | json_get 'd["backend"]')
		# the translated identity: the pod's address and its own port
		[ "$(echo "$w" | json_get 'd["translated"] == (d["backend"] + ":8080" if "." in d["backend"] else "[" + d["backend"] + "]:8080")')" = True ] ||
			translated_ok=false
		vip=${dst%:80}; vip=${vip#[}; vip=${vip%]}
		got=$(in_ns cl python3 "$ROOT/tests/lib/client.py" tuple "$vip" 80 "$sport" 1 |
			json_get 'd["backends"][0]')
		echo "  $who_ns: which $src:$sport -> $dst: $who; answered by $got"
		[ "$got" = "pod-${who: -1}" ] || which_ok=false
	done
done
expect which_names_the_pod_that_answers $which_ok
expect which_shows_the_translated_identity_pod_8080 $translated_ok
in_ns lb "$BIN/fluxlb" --bpffs "$PIN_BASE" which tcp 10.10.1.2:41001 "$VIP:80" | sed 's/^/  /'

# The node role's counters and table fill in the scrape (promtool-clean).
scrape=$(in_ns lb curl -sf "http://127.0.0.1:$MPORT/metrics")
metric() { echo "$scrape" | awk -v k="$1" '$1 == k { print $2 }'; }
echo "  scrape: $(echo "$scrape" | grep -E 'reason="(decap_dnat|rnat_ok|dnat_no_flow)"|map="flb_node' | tr '\n' ' ')"
# (between the counts of the pins read before and after the scrape)
expect scrape_has_decap_dnat_as_counted \
	[ "$(metric 'fluxlb_packets_total{reason="decap_dnat"}')" -ge "$dnat" -a \
	  "$(metric 'fluxlb_packets_total{reason="decap_dnat"}')" -le "$(count flb_dcp_reasons decap_dnat)" ]
expect scrape_has_rnat_ok_as_counted \
	[ "$(metric 'fluxlb_packets_total{reason="rnat_ok"}')" -ge "$rnat" ]
# 4 services x 3 pods, one entry each; capacities from the kernel.
expect scrape_has_the_node_nat_table_fill [ "$(metric 'fluxlb_map_entries{map="flb_node_nat"}')" = 12 ]
expect scrape_has_the_node_flow_table_fill [ "$(metric 'fluxlb_map_entries{map="flb_node_flows"}')" -ge 1 -a \
	"$(metric 'fluxlb_map_max_entries{map="flb_node_flows"}')" = 131072 ]
if command -v promtool >/dev/null; then
	if echo "$scrape" | promtool check metrics >"/run/$TOPO/promtool.txt" 2>&1; then
		pass metrics_promtool_check_passes
	else
		fail metrics_promtool_check_passes "$(head -5 "/run/$TOPO/promtool.txt")"
	fi
else
	skip metrics_promtool_check_passes "promtool not installed (prometheus package)"
fi

# The node role off (same balancer, no node.pods): flb_tail is emptied and a
# tunnel packet is the balancer's again (passed: no decap, no pod answers).
kill "$DAEMON_PID"
stop_pid "$DAEMON_PID"
{ echo "interfaces: [eth0]"; echo "node: {bpffs: $PIN_BASE}"; services; } >"$CONFIG"
daemon_start || { fail lb_restart "fluxlbd without the node role did not become ready"; exit 1; }
abi=$(awk '/^#define FLB_ABI_VERSION/ { print $3 }' "$ROOT/include/flb_abi.h")
expect node_role_off_empties_flb_tail sh -c \
	"[ \"\$(bpftool -j map dump pinned '$PIN_BASE/v$abi/flb_tail')\" = '[]' ]"
l4=$(count flb_reasons pass_l4_other)
out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP_B" 80 2)
echo "  node role off, $VIP_B:80: $out; pass_l4_other +$(( $(count flb_reasons pass_l4_other) - l4 ))"
expect node_role_off_tunnel_packets_pass_as_before \
	[ "$(echo "$out" | json_get 'd["ok"] == 0')" = True -a "$(count flb_reasons pass_l4_other)" -gt "$l4" ]
