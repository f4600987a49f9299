# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The multi-node BGP topology of tests/e2e/test_bgp.sh and test_second_chance.sh
# (source it after tests/lib/e2e.sh and scripts/topo.sh, with TOPO set):
#
#   client --c0/r0-- router (BIRD: 3 eBGP peers, merge paths -> ECMP route,
#    fib_multipath_hash_policy=1)  --nI/eth0-- LB node I (fluxlbd, native XDP
#    on eth0, BIRD from `fluxlbd --bird-config`), I = 1..3
#   router --bJ/eth0-- backend J (decap XDP, VIP on lo, HTTP), J = 1..4
#
# Sets the names below, traps EXIT with down(), and defines topo, router_bird,
# node_bird, write_node_cfg (NODE_CFG_EXTRA: YAML lines added before
# services:), node_start, node_flb, scrape, nexthops and wait_nexthops.
RUN=/run/$TOPO
BPFFS=$RUN/bpffs
NODES=3
NB=4
TABLE=4242
GRACE=1s
VIP=10.100.0.1
PASS_PROG=$ROOT/build/tests/progs/xdp_pass.bpf.o
declare -A DPID=()   # node -> fluxlbd pid
NSES=(cl rt $(seq -f 'n%g' 1 $NODES) $(seq -f 'b%g' 1 $NB))

down() {
	local p
	for p in "${DPID[@]}" "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${DPID[@]}" "${PIDS[@]}"; do stop_pid "$p"; done
	for n in "${NSES[@]}"; do
		ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	umount "$BPFFS" 2>/dev/null
	rm -rf "$RUN"
	return 0
}
trap down EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }

# The router's next hops for the VIP: 0, 1 ("via" alone) or the nexthop lines.
nexthops() {
	local r
	r=$(ip -n "$(ns rt)" -4 route show "$VIP/32")
	if [ -z "$r" ]; then echo 0
	elif grep -q nexthop <<<"$r"; then grep -c 'nexthop via' <<<"$r"
	else echo 1
	fi
}
# wait_nexthops N SECONDS: polls every few ms; prints the ms it took.
wait_nexthops() {
	local t0 end
	t0=$(ms)
	end=$((t0 + $2 * 1000))
	while [ "$(nexthops)" != "$1" ]; do
		[ "$(ms)" -gt "$end" ] && { echo -1; return 1; }
		sleep 0.005
	done
	echo $(($(ms) - t0))
}
node_log() { echo "$RUN/fluxlbd-n$1.log"; }
node_cfg() { echo "$RUN/n$1.yaml"; }
# write_node_cfg I WEIGHT BACKEND-ORDER...: the node's file (renamed into place).
write_node_cfg() {
	local i=$1 w=$2 j
	shift 2
	{
		echo "interfaces: [eth0]"
		echo "node: {bpffs: $BPFFS/n$i}"
		echo "metrics: {listen: \"127.0.0.1:9100\"}"
		echo "announce:"
		echo "  table: $TABLE"
		echo "  grace: $GRACE"
		echo "  bgp:"
		echo "    asn: 65001"
		echo "    router_id: 10.20.$i.2"
		echo "    communities: [\"65000:100\"]"
		echo "    peers: [{address: 10.20.$i.1, asn: 65000}]"
		[ -n "${NODE_CFG_EXTRA:-}" ] && echo "$NODE_CFG_EXTRA"
		echo "services:"
		echo "  - name: web"
		echo "    vip: $VIP"
		echo "    port: 80"
		echo "    backends:"
		for j in "$@"; do echo "      - {address: 10.30.0.1$j, weight: $w}"; done
	} >"$(node_cfg "$i").tmp"
	mv "$(node_cfg "$i").tmp" "$(node_cfg "$i")"
}
# node_start I: fluxlbd in node I; waits for its next "ready".
node_start() {
	local i=$1 log before
	log=$(node_log "$i")
	: >>"$log"
	before=$(grep -c 'msg="ready"' "$log")
	ip netns exec "$(ns "n$i")" "$BIN/fluxlbd" --config "$(node_cfg "$i")" >>"$log" 2>&1 &
	DPID[$i]=$!
	for _ in $(seq 1 300); do   # 15 s: a loaded 2-CPU machine is slow to load the object
		[ "$(grep -c 'msg="ready"' "$log")" -gt "$before" ] && return 0
		kill -0 "${DPID[$i]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "  fluxlbd n$i did not become ready:" && tail -5 "$log"
	return 1
}
node_flb() { local i=$1; shift; in_ns "n$i" "$BIN/fluxlb" --bpffs "$BPFFS/n$i" "$@"; }
scrape() { in_ns "n$1" curl -s http://127.0.0.1:9100/metrics; }

topo() {
	mkdir -p "$BPFFS"
	mount -t bpf bpf "$BPFFS"
	for n in "${NSES[@]}"; do
		ip netns add "$(ns "$n")"
		ip -n "$(ns "$n")" link set lo up
	done
	in_ns rt sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.fib_multipath_hash_policy=1
	# client
	ip -n "$(ns cl)" link add c0 type veth peer name r0 netns "$(ns rt)"
	ip -n "$(ns cl)" addr add 10.20.0.2/24 dev c0
	ip -n "$(ns cl)" link set c0 up
	ip -n "$(ns cl)" route add default via 10.20.0.1
	in_ns cl ethtool -K c0 tx off >/dev/null
	ip -n "$(ns rt)" addr add 10.20.0.1/24 dev r0
	ip -n "$(ns rt)" link set r0 up
	# LB nodes: a /24 each to the router. Every end whose peer runs XDP
	# sends full checksums (tx off); the router's end takes the nodes'
	# XDP_TX frames only with an XDP program of its own (FIELD-NOTES).
	for i in $(seq 1 $NODES); do
		ip -n "$(ns rt)" link add "n$i" type veth peer name eth0 netns "$(ns "n$i")"
		ip -n "$(ns rt)" addr add "10.20.$i.1/24" dev "n$i"
		ip -n "$(ns rt)" link set "n$i" up
		in_ns rt ethtool -K "n$i" tx off >/dev/null
		ip -n "$(ns rt)" link set dev "n$i" xdpdrv obj "$PASS_PROG" sec xdp
		ip -n "$(ns "n$i")" addr add "10.20.$i.2/24" dev eth0
		ip -n "$(ns "n$i")" link set eth0 up
		ip -n "$(ns "n$i")" route add default via "10.20.$i.1"
		in_ns "n$i" ethtool -K eth0 tx off >/dev/null
		in_ns "n$i" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	done
	# backends
	for j in $(seq 1 $NB); do
		ip -n "$(ns rt)" link add "b$j" type veth peer name eth0 netns "$(ns "b$j")"
		ip -n "$(ns rt)" addr add 10.30.0.1/32 dev "b$j"
		ip -n "$(ns rt)" link set "b$j" up
		ip -n "$(ns rt)" route add "10.30.0.1$j/32" dev "b$j"
		ip -n "$(ns "b$j")" addr add "10.30.0.1$j/32" dev eth0
		ip -n "$(ns "b$j")" link set eth0 up
		ip -n "$(ns "b$j")" route add 10.30.0.1/32 dev eth0
		ip -n "$(ns "b$j")" route add default via 10.30.0.1 dev eth0
		ip -n "$(ns "b$j")" addr add "$VIP/32" dev lo
		in_ns "b$j" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
		in_ns "b$j" "$BIN/fluxlb" decap attach eth0 >/dev/null
		bg_in_ns "b$j" "$RUN/httpd-$j.log" python3 "$ROOT/tests/lib/httpd.py" "backend-$j" 80
	done
	for i in $(seq 1 $NODES); do in_ns "n$i" ping -c1 -W1 "10.20.$i.1" >/dev/null; done
	for j in $(seq 1 $NB); do in_ns rt ping -c1 -W1 "10.30.0.1$j" >/dev/null; done
}

router_bird() {
	{
		echo "log \"$RUN/bird-rt.log\" all;"
		echo "router id 10.20.0.1;"
		echo "protocol device { }"
		echo "protocol kernel { merge paths on; ipv4 { import none; export all; }; }"
		for i in $(seq 1 $NODES); do
			echo "protocol bgp node$i {"
			echo "  local 10.20.$i.1 as 65000; neighbor 10.20.$i.2 as 65001;"
			echo "  connect delay time 1; connect retry time 2; error wait time 1, 5;"
			echo "  ipv4 { import all; export none; };"
			echo "}"
		done
	} >"$RUN/bird-rt.conf"
	bg_in_ns rt "$RUN/bird-rt.out" bird -f -c "$RUN/bird-rt.conf" -s "$RUN/bird-rt.ctl" -P "$RUN/bird-rt.pid"
}
# node_bird I: BIRD in node I, configured by fluxlbd --bird-config.
node_bird() {
	local i=$1 conf=$RUN/bird-n$1.conf
	echo "log \"$RUN/bird-n$i.log\" all;" >"$conf"
	"$BIN/fluxlbd" --bird-config "$(node_cfg "$i")" >>"$conf" || return 1
	bg_in_ns "n$i" "$RUN/bird-n$i.out" bird -f -c "$conf" -s "$RUN/bird-n$i.ctl" -P "$RUN/bird-n$i.pid"
}
