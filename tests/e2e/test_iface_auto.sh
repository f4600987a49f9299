#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Per-node interfaces (issue 19), with the real daemon in a network
# namespace holding lan0, lan1 and wan0 (veths): `interfaces: auto`
# attaches to the NIC of the default route (wan0) and only to it; without a
# default route the daemon is not ready (`interface missing ... iface=auto`)
# and attaches once a default route appears (via lan1 here); a glob (lan*)
# in a per-node override chosen by FLUXLB_NODE_NAME attaches to lan0 and
# lan1 and not to the interfaces: list; FLUXLB_INTERFACES overrides
# everything. Each step checks what the kernel shows (ip link: prog/xdp).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
BIN=$ROOT/build/bin
if [ "$(id -u)" -ne 0 ]; then
	skip iface_auto "needs root (netns, XDP)"
	exit 0
fi
NS=flbifa$$
TMP=$(mktemp -d /tmp/flbifa.XXXXXX)
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && sleep 0.3
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	umount "$TMP/bpffs" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
for l in lan0 lan1 wan0; do
	ip -n "$NS" link add "$l" type veth peer name "p-$l"
	ip -n "$NS" link set "$l" up
	ip -n "$NS" link set "p-$l" up
done
ip -n "$NS" addr add 10.1.0.1/24 dev lan0
ip -n "$NS" addr add 10.3.0.1/24 dev lan1
ip -n "$NS" addr add 10.2.0.1/24 dev wan0
mkdir -p "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs"

# run CONFIG_INTERFACES [NODES_YAML] [ENV...]: fluxlbd in the namespace
# until ready or 3 s; LOG holds its log.
run() {
	local ifs=$1 nodes=${2:-}
	shift 2
	printf 'interfaces: %s\nnode: {bpffs: %s}\n%sservices:\n  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n' \
		"$ifs" "$TMP/bpffs/fluxlb" "$nodes" >"$TMP/fluxlbd.yaml"
	LOG=$TMP/log.$((++RUNS))
	RUN_ENV=("$@")
	env "$@" ip netns exec "$NS" "$BIN/fluxlbd" --config "$TMP/fluxlbd.yaml" >"$LOG" 2>&1 &
	DPID=$!
	for _ in $(seq 1 30); do grep -q 'msg="ready"' "$LOG" && return 0; sleep 0.1; done
	return 1
}
stop() {
	kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; DPID=
	env "${RUN_ENV[@]}" ip netns exec "$NS" "$BIN/fluxlbd" --cleanup --config "$TMP/fluxlbd.yaml" >/dev/null 2>&1
}
# The interfaces running the balancer, sorted.
attached() { ip -n "$NS" -d link show | awk -F': ' '/^[0-9]+:/ {d=$2; sub(/@.*/, "", d)} /prog\/xdp/ {print d}' | sort | paste -sd ' '; }
RUNS=0

ip -n "$NS" route add default via 10.2.0.254 dev wan0
run auto "" FLUXLB_NODE_NAME=n1
expect auto_picks_default_route_nic [ "$(attached)" = wan0 -a -n "$(grep 'msg="attached XDP program" iface=wan0' "$LOG")" ]
echo "  attached: $(attached)"
stop
expect cleanup_detaches_auto_resolved [ -z "$(attached)" ]

# No default route: not ready, then one appears via lan1.
ip -n "$NS" route del default
run auto "" FLUXLB_NODE_NAME=n1
expect auto_without_default_route_not_ready [ -z "$(grep 'msg="ready"' "$LOG")" -a -n "$(grep 'interface missing.*iface=auto' "$LOG")" ]
ip -n "$NS" route add default via 10.3.0.254 dev lan1
for _ in $(seq 1 30); do grep -q 'msg="ready"' "$LOG" && break; sleep 0.1; done
expect auto_attaches_once_default_route_appears [ "$(attached)" = lan1 -a -n "$(grep 'msg="ready"' "$LOG")" ]
stop

# A per-node override by node name, with a glob.
nodes=$'nodes:\n  - {name: "core-*", interfaces: [wan0]}\n  - {name: "edge-*", interfaces: ["lan*"]}\n'
run "[wan0]" "$nodes" FLUXLB_NODE_NAME=edge-3
expect node_override_glob_attaches_lan0_lan1 [ "$(attached)" = "lan0 lan1" ]
stop
run "[wan0]" "$nodes" FLUXLB_NODE_NAME=other
expect no_matching_node_keeps_interfaces [ "$(attached)" = wan0 ]
stop
expect cleanup_detaches_what_the_override_chose [ -z "$(attached)" ]
# The environment over both.
run "[wan0]" "$nodes" FLUXLB_NODE_NAME=edge-3 FLUXLB_INTERFACES=lan0
expect env_overrides_interfaces [ "$(attached)" = lan0 ]
stop
out=$(FLUXLB_INTERFACES="a b" "$BIN/fluxlbd" --check-config "$TMP/fluxlbd.yaml" 2>&1); rc=$?
expect bad_env_rejected_by_check_config [ "$rc" = 1 -a -n "$(echo "$out" | grep FLUXLB_INTERFACES)" ]
