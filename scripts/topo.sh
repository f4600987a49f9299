# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Sourced by scripts/demo.sh and tests/e2e/*.sh: builds and removes the demo
# topology in network namespaces. Every name carries $TOPO (unique per run),
# and topo_down removes everything topo_up made, whatever state it is in.
#
#   client (10.10.1.2, fd00:10:1::2) --c0/eth0-- lb (10.10.1.1; XDP balancer on eth0)
#   lb --b1/eth0-- backend 1 (10.10.2.11, fd00:10:2::11; VIPs on lo, decap on eth0)
#   lb --b2/eth0-- backend 2 (10.10.2.12)  ...  one veth pair per backend
#
# The LB reaches each backend over its own veth (XDP_REDIRECT into a veth
# needs an XDP program on the peer: the backend's decap is that program).
# Backends answer the client directly through the LB's kernel (DSR).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=$ROOT/build/bin
VIP=${VIP:-10.100.0.1}
VIP6=${VIP6:-fd00:100::1}
LINK_MTU=${LINK_MTU:-}          # MTU of the LB-to-backend links (PMTU tests)
NBACKENDS=${NBACKENDS:-3}
TOPO=${TOPO:-flb$$}
BPFFS=/run/$TOPO/bpffs          # a bpffs of our own: ip netns exec hides /sys/fs/bpf
PIN_BASE=$BPFFS/fluxlb
CONFIG=/run/$TOPO/fluxlbd.yaml
DAEMON_LOG=/run/$TOPO/fluxlbd.log
PIDS=()

ns() { echo "$TOPO-$1"; }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
# Starts a process in a namespace in the background; its pid (the process
# itself: ip netns exec execs it) goes into PIDS for topo_down.
bg_in_ns() {
	local n=$1 out=$2
	shift 2
	ip netns exec "$(ns "$n")" "$@" >>"$out" 2>&1 &
	PIDS+=($!)
}

topo_up() {
	mkdir -p "/run/$TOPO/bpffs"
	mount -t bpf bpf "$BPFFS"
	for n in cl lb $(seq -f 'b%g' 1 "$NBACKENDS"); do
		ip netns add "$(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
	# client <-> lb
	ip -n "$(ns cl)" link add c0 type veth peer name eth0 netns "$(ns lb)"
	ip -n "$(ns cl)" addr add 10.10.1.2/24 dev c0
	ip -n "$(ns cl)" link set c0 up
	ip -n "$(ns cl)" route add default via 10.10.1.1
	ip -n "$(ns cl)" -6 addr add fd00:10:1::2/64 dev c0 nodad
	ip -n "$(ns cl)" -6 route add default via fd00:10:1::1
	# The client's stack leaves TCP checksums to the NIC (CHECKSUM_PARTIAL);
	# after XDP redirects a frame nobody fills them in.
	in_ns cl ethtool -K c0 tx off >/dev/null
	# XDP_TX back to the client (our "too big" replies) reaches c0 only if
	# c0 runs an XDP program too; a pass program is enough.
	ip -n "$(ns cl)" link set dev c0 xdpdrv obj "$ROOT/build/tests/progs/xdp_pass.bpf.o" sec xdp
	ip -n "$(ns lb)" addr add 10.10.1.1/24 dev eth0
	ip -n "$(ns lb)" -6 addr add fd00:10:1::1/64 dev eth0 nodad
	ip -n "$(ns lb)" link set eth0 up
	# Forwarding: bpf_fib_lookup() refuses to answer without it, and the
	# kernel forwards what waits for a neighbour.
	in_ns lb sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.forwarding=1
	for i in $(seq 1 "$NBACKENDS"); do
		local b=b$i addr=10.10.2.1$i
		ip -n "$(ns lb)" link add "$b" type veth peer name eth0 netns "$(ns "$b")"
		ip -n "$(ns lb)" addr add 10.10.2.1/32 dev "$b"
		ip -n "$(ns lb)" -6 addr add fd00:10:2::1/128 dev "$b" nodad
		if [ -n "$LINK_MTU" ]; then
			ip -n "$(ns lb)" link set "$b" mtu "$LINK_MTU"
			ip -n "$(ns "$b")" link set eth0 mtu "$LINK_MTU"
		fi
		ip -n "$(ns lb)" link set "$b" up
		ip -n "$(ns lb)" route add "$addr/32" dev "$b"
		ip -n "$(ns lb)" -6 route add "fd00:10:2::1$i/128" dev "$b"
		ip -n "$(ns "$b")" addr add "$addr/32" dev eth0
		ip -n "$(ns "$b")" -6 addr add "fd00:10:2::1$i/128" dev eth0 nodad
		ip -n "$(ns "$b")" link set eth0 up
		ip -n "$(ns "$b")" route add 10.10.2.1/32 dev eth0
		ip -n "$(ns "$b")" route add default via 10.10.2.1 dev eth0
		ip -n "$(ns "$b")" -6 route add fd00:10:2::1/128 dev eth0
		ip -n "$(ns "$b")" -6 route add default via fd00:10:2::1 dev eth0
		ip -n "$(ns "$b")" addr add "$VIP/32" dev lo
		ip -n "$(ns "$b")" -6 addr add "$VIP6/128" dev lo nodad
		in_ns "$b" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
		in_ns "$b" "$BIN/fluxlb" decap attach eth0 >/dev/null
		bg_in_ns "$b" "/run/$TOPO/httpd-$i.log" python3 "$ROOT/tests/lib/httpd.py" "backend-$i" 80
	done
	# Resolve the LB's neighbours now, so the first packets need no detour.
	for i in $(seq 1 "$NBACKENDS"); do
		in_ns lb ping -c1 -W1 "10.10.2.1$i" >/dev/null || true
		in_ns lb ping -6 -c1 -W1 "fd00:10:2::1$i" >/dev/null || true
	done
	in_ns cl ping -c1 -W1 10.10.1.1 >/dev/null || true
}

topo_config() {
	{
		echo "interfaces: [eth0]"
		echo "node:"
		echo "  bpffs: $PIN_BASE"
		echo "services:"
		echo "  - name: web"
		echo "    vip: $VIP"
		echo "    port: 80"
		echo "    protocol: tcp"
		echo "    backends:"
		for i in $(seq 1 "$NBACKENDS"); do
			echo "      - address: 10.10.2.1$i"
		done
		echo "  - name: web6"
		echo "    vip: \"$VIP6\""
		echo "    port: 80"
		echo "    backends:"
		for i in $(seq 1 "$NBACKENDS"); do
			echo "      - address: \"fd00:10:2::1$i\""
		done
	} >"$CONFIG"
}

# Starts fluxlbd in the LB namespace and waits until it has set ready.
daemon_start() {
	local cfg=${1:-$CONFIG} before
	: >>"$DAEMON_LOG"
	before=$(grep -c 'msg="ready"' "$DAEMON_LOG" || true)
	bg_in_ns lb "$DAEMON_LOG" "$BIN/fluxlbd" --config "$cfg"
	DAEMON_PID=${PIDS[-1]}
	for _ in $(seq 1 100); do
		[ "$(grep -c 'msg="ready"' "$DAEMON_LOG")" -gt "$before" ] && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "fluxlbd did not become ready; its log:" >&2
	cat "$DAEMON_LOG" >&2
	return 1
}

# wait_log PATTERN COUNT [SECONDS]: waits (5 s unless said) until the
# daemon's log has at least COUNT lines matching PATTERN (grep's basic
# regular expression); fails after that.
wait_log() {
	local _
	for _ in $(seq 1 $((${3:-5} * 20))); do
		[ "$(grep -c -- "$1" "$DAEMON_LOG")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# Waits until every backend's HTTP server accepts connections.
backends_wait() {
	for i in $(seq 1 "$NBACKENDS"); do
		for _ in $(seq 1 50); do
			in_ns "b$i" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 80), 1)' \
				2>/dev/null && break
			sleep 0.1
		done
	done
}

flb() { in_ns lb "$BIN/fluxlb" --bpffs "$PIN_BASE" "$@"; }

# Waits up to 5 s for a pid that was sent SIGTERM, then kills it.
stop_pid() {
	local _
	for _ in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	return 0
}

topo_down() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	PIDS=()
	for n in cl lb $(seq -f 'b%g' 1 "$NBACKENDS"); do
		# Killing every process still in the namespace lets it go away.
		ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	umount "$BPFFS" 2>/dev/null
	rm -rf "/run/$TOPO"
	return 0
}
