# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Sourced by the pods tests (test_pods.sh, test_k8s_node.sh) after
# scripts/topo.sh: client "cl" -> balancer "lb" -> node "node" -> pod
# namespaces pod1..pod$NPODS (10.20.0.1<i>, fd00:20::1<i>) whose servers
# listen on 8080 (docs/pods.md), and the node role's daemon. Set NPODS,
# NODE_CONFIG and NODE_LOG first, and `trap pods_down EXIT`.
pods_down() {
	topo_down_extra
	topo_down
}
topo_down_extra() {
	local n
	for n in node $(seq -f 'pod%g' 1 "$NPODS"); do
		ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	return 0
}

pods_up() {
	mkdir -p "/run/$TOPO/bpffs"
	mount -t bpf bpf "$BPFFS"
	for n in cl lb node $(seq -f 'pod%g' 1 "$NPODS"); do
		ip netns add "$(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
	# client <-> lb, as in scripts/topo.sh
	ip -n "$(ns cl)" link add c0 type veth peer name eth0 netns "$(ns lb)"
	ip -n "$(ns cl)" addr add 10.10.1.2/24 dev c0
	ip -n "$(ns cl)" -6 addr add fd00:10:1::2/64 dev c0 nodad
	ip -n "$(ns cl)" link set c0 up
	ip -n "$(ns cl)" route add default via 10.10.1.1
	ip -n "$(ns cl)" -6 route add default via fd00:10:1::1
	in_ns cl ethtool -K c0 tx off >/dev/null
	ip -n "$(ns cl)" link set dev c0 xdpdrv obj "$ROOT/build/tests/progs/xdp_pass.bpf.o" sec xdp
	in_ns lb sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.forwarding=1
	ip -n "$(ns lb)" addr add 10.10.1.1/24 dev eth0
	ip -n "$(ns lb)" -6 addr add fd00:10:1::1/64 dev eth0 nodad
	ip -n "$(ns lb)" link set eth0 up
	# lb <-> node; the pod CIDRs are routed to the node.
	ip -n "$(ns lb)" link add n1 type veth peer name eth0 netns "$(ns node)"
	ip -n "$(ns lb)" addr add 10.10.2.1/32 dev n1
	ip -n "$(ns lb)" -6 addr add fd00:10:2::1/128 dev n1 nodad
	ip -n "$(ns lb)" link set n1 up
	ip -n "$(ns lb)" route add 10.10.2.11/32 dev n1
	ip -n "$(ns lb)" -6 route add fd00:10:2::11/128 dev n1
	ip -n "$(ns lb)" route add 10.20.0.0/24 via 10.10.2.11 dev n1
	ip -n "$(ns lb)" -6 route add fd00:20::/64 via fd00:10:2::11 dev n1
	# The node: forwards (the documented prerequisite), routes each pod.
	in_ns node sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.forwarding=1
	ip -n "$(ns node)" addr add 10.10.2.11/32 dev eth0
	ip -n "$(ns node)" -6 addr add fd00:10:2::11/128 dev eth0 nodad
	ip -n "$(ns node)" link set eth0 up
	ip -n "$(ns node)" route add 10.10.2.1/32 dev eth0
	ip -n "$(ns node)" route add default via 10.10.2.1 dev eth0
	ip -n "$(ns node)" -6 route add fd00:10:2::1/128 dev eth0
	ip -n "$(ns node)" -6 route add default via fd00:10:2::1 dev eth0
	for i in $(seq 1 "$NPODS"); do
		local p=pod$i
		ip -n "$(ns node)" link add "p$i" type veth peer name eth0 netns "$(ns "$p")"
		ip -n "$(ns node)" addr add 10.20.0.1/32 dev "p$i"
		ip -n "$(ns node)" -6 addr add fd00:20::1/128 dev "p$i" nodad
		ip -n "$(ns node)" link set "p$i" up
		ip -n "$(ns node)" route add "10.20.0.1$i/32" dev "p$i"
		ip -n "$(ns node)" -6 route add "fd00:20::1$i/128" dev "p$i"
		# The pod: an address, a default route, a server. Nothing else.
		ip -n "$(ns "$p")" addr add "10.20.0.1$i/32" dev eth0
		ip -n "$(ns "$p")" -6 addr add "fd00:20::1$i/128" dev eth0 nodad
		ip -n "$(ns "$p")" link set eth0 up
		ip -n "$(ns "$p")" route add 10.20.0.1/32 dev eth0
		ip -n "$(ns "$p")" route add default via 10.20.0.1 dev eth0
		ip -n "$(ns "$p")" -6 route add fd00:20::1/128 dev eth0
		ip -n "$(ns "$p")" -6 route add default via fd00:20::1 dev eth0
		bg_in_ns "$p" "/run/$TOPO/pod-$i.log" python3 "$ROOT/tests/lib/httpd.py" "pod-$i" 8080
	done
	in_ns lb ping -c1 -W1 10.10.2.11 >/dev/null || true
	in_ns lb ping -6 -c1 -W1 fd00:10:2::11 >/dev/null || true
	in_ns cl ping -c1 -W1 10.10.1.1 >/dev/null || true
	for i in $(seq 1 "$NPODS"); do
		in_ns node ping -c1 -W1 "10.20.0.1$i" >/dev/null || true
		in_ns node ping -6 -c1 -W1 "fd00:20::1$i" >/dev/null || true
	done
}

node_start() {
	local before
	: >>"$NODE_LOG"
	before=$(grep -c 'msg="ready"' "$NODE_LOG")
	bg_in_ns node "$NODE_LOG" "$BIN/fluxlbd" --config "$NODE_CONFIG"
	NODE_PID=${PIDS[-1]}
	for _ in $(seq 1 100); do
		[ "$(grep -c 'msg="ready"' "$NODE_LOG")" -gt "$before" ] && return 0
		kill -0 "$NODE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "node fluxlbd did not become ready; its log:" >&2
	cat "$NODE_LOG" >&2
	return 1
}

node_wait_log() {
	local DAEMON_LOG=$NODE_LOG
	wait_log "$@"
}

# node_count REASON: the node's counter, summed over CPUs, from its pins.
node_count() {
	local map=flb_dcp_reasons
	case $1 in rnat_*) map=flb_rnat_counts ;; esac
	local idx
	idx=$(grep -o 'X([A-Z_0-9]*, *"[a-z_0-9]*"' "$ROOT/include/flb_reasons.h" |
		awk -v r="\"$1\"" '{ if ($2 == r) print NR - 1 }')
	local abi
	abi=$(awk '/^#define FLB_ABI_VERSION/ { print $3 }' "$ROOT/include/flb_abi.h")
	bpftool -j map lookup pinned "$BPFFS/node/v$abi/$map" key "$idx" 0 0 0 2>/dev/null |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(int(v["value"]) if not isinstance(v["value"], list) else int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little") for v in d["values"]))'
}

