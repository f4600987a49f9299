#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Pods as backends, unchanged (docs/pods.md): client -> LB (fluxlbd balancer,
# native XDP) -> node (fluxlbd node role: XDP decap + translation on its NIC,
# tc reverse NAT on the same NIC's egress) -> three pod namespaces on veths,
# whose servers listen on 8080 with no VIP, no program and no sysctl.
# VIP:80 -> pod:8080, IPv4 and IPv6: connections are answered (so the
# replies came from VIP:80: the client's TCP accepts nothing else), `fluxlb
# which` names the pod that answers; then, under load, a pod is added, one
# terminates (weight 0: drains) and one is removed (drains), the node role
# restarts, and no held connection breaks.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbpod$$
NBACKENDS=0
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip pods "needs root (netns, XDP, tc)"
	exit 0
fi
NPODS=4                       # pod 4 starts outside the service
NODE_CONFIG=/run/$TOPO/node.yaml
NODE_LOG=/run/$TOPO/node.log

source "$ROOT/tests/lib/pods.sh"
trap pods_down EXIT

# write_configs "I:WEIGHT ..." : the pods in the service, for both daemons
# (the same services; the LB balances, the node translates), atomically.
write_configs() {
	local role f
	for role in lb node; do
		f=$CONFIG
		[ "$role" = node ] && f=$NODE_CONFIG
		{
			if [ "$role" = lb ]; then
				echo "interfaces: [eth0]"
				echo "node: {bpffs: $PIN_BASE}"
			else
				echo "interfaces: []"
				echo "node:"
				echo "  bpffs: $BPFFS/node"
				echo "  pods: {interface: eth0, cidrs: [10.20.0.0/24, \"fd00:20::/64\"]}"
			fi
			echo "defaults: {drain_timeout: 60s}"
			echo "services:"
			echo "  - {name: web, vip: $VIP, port: 80, backends: ["
			for p in "$@"; do echo "      {address: 10.20.0.1${p%:*}, port: 8080, weight: ${p#*:}},"; done
			echo "    ]}"
			echo "  - {name: web6, vip: \"$VIP6\", port: 80, backends: ["
			for p in "$@"; do echo "      {address: \"fd00:20::1${p%:*}\", port: 8080, weight: ${p#*:}},"; done
			echo "    ]}"
		} >"$f.tmp"
		mv "$f.tmp" "$f"
	done
}

pods_up
write_configs 1:1 2:1 3:1
daemon_start || { fail lb_ready "fluxlbd (balancer) did not become ready"; exit 1; }
node_start || { fail node_ready "fluxlbd (node role) did not become ready"; exit 1; }
expect node_role_attached_xdp_and_tc in_ns node sh -c \
	'ip link show eth0 | grep -q xdp && tc filter show dev eth0 egress | grep -q rnat'
expect pods_have_no_program_and_no_vip in_ns pod1 sh -c \
	"! ip link show eth0 | grep -q xdp && ! ip addr | grep -q '$VIP'"

out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 1000)
echo "  IPv4: $out"
expect ipv4_1000_connections_answered_by_three_pods \
	[ "$(echo "$out" | json_get 'd["ok"] == 1000 and sorted(d["by_backend"]) == ["pod-1", "pod-2", "pod-3"]')" = True ]
echo "  node counters: decap_dnat=$(node_count decap_dnat) rnat_ok=$(node_count rnat_ok) rnat_expired=$(node_count rnat_expired)"
expect replies_left_the_node_as_vip_80 [ "$(node_count rnat_ok)" -ge 2000 ]
out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP6" 80 300)
echo "  IPv6: $out"
expect ipv6_300_connections_answered_by_three_pods \
	[ "$(echo "$out" | json_get 'd["ok"] == 300 and sorted(d["by_backend"]) == ["pod-1", "pod-2", "pod-3"]')" = True ]

# which names the pod that answers, v4 and v6.
which_ok=true
for dst in "$VIP:80" "[$VIP6]:80"; do
	for sport in 41001 41002 41003 41004; do
		src=10.10.1.2
		[ "${dst#[}" != "$dst" ] && src="[fd00:10:1::2]"
		who=$(flb -j which tcp "$src:$sport" "$dst" | json_get 'd["backend"]')
		vip=${dst%:80}; vip=${vip#[}; vip=${vip%]}
		got=$(in_ns cl python3 "$ROOT/tests/lib/client.py" tuple "$vip" 80 "$sport" 1 | json_get 'd["backends"][0]')
		want="pod-${who: -1}"
		echo "  which $src:$sport -> $dst: $who; answered by $got"
		[ "$got" = "$want" ] || which_ok=false
	done
done
expect which_names_the_pod_that_answers $which_ok

# Lifecycle under load: 24 held connections (opened first, while pods 1-3
# serve) and a stream of new ones while pod 4 is added, pod 2 terminates
# (weight 0) and pod 3 is removed.
CL=/run/$TOPO
in_ns cl python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 24 16 >"$CL/hold.json" &
HOLD=$!
PIDS+=("$HOLD")
# Python starts slowly on a loaded machine: wait for the held connections.
for _ in $(seq 1 100); do
	[ "$(in_ns cl ss -Htnp state established | grep -c "pid=$HOLD,")" -ge 24 ] && break
	sleep 0.1
done
in_ns cl python3 "$ROOT/tests/lib/client.py" stream "$VIP" 80 12 >"$CL/stream.json" &
STREAM=$!
PIDS+=("$STREAM")
sleep 2
write_configs 1:1 2:1 3:1 4:1
expect pod_added_lb_reloads wait_log 'msg="reloaded"' 1
expect pod_added_node_reloads node_wait_log 'msg="node table applied" entries=8' 1
sleep 2
write_configs 1:1 2:0 3:1 4:1
expect pod_terminating_lb_reloads wait_log 'msg="reloaded"' 2
sleep 2
write_configs 1:1 2:0 4:1
expect pod_removed_lb_reloads wait_log 'msg="reloaded"' 3
expect pod_removed_node_keeps_its_entry_while_it_drains \
	node_wait_log 'msg="node table applied" entries=6 added_or_changed=0 draining=2' 1
# The node role restarts under load: maps adopted, program replaced in place.
kill "$NODE_PID"
stop_pid "$NODE_PID"
expect node_role_restarts_under_load node_start
wait "$STREAM"
wait "$HOLD"
s=$(cat "$CL/stream.json")
h=$(cat "$CL/hold.json")
echo "  stream: $(echo "$s" | json_get '{k: d[k] for k in ("ok", "failed", "by_backend")}')"
echo "  hold: $(echo "$h" | json_get '[(c["backend"], c["ok"], c["failed"]) for c in d["connections"]]')"
expect new_connections_without_failure [ "$(echo "$s" | json_get 'd["failed"] == 0 and d["ok"] > 100')" = True ]
expect added_pod_took_new_connections [ "$(echo "$s" | json_get 'd["by_backend"].get("pod-4", 0) > 0')" = True ]
expect held_connections_were_on_pods_1_to_3 [ "$(echo "$h" | json_get 'sorted(set(c["backend"] for c in d["connections"])) == ["pod-1", "pod-2", "pod-3"]')" = True ]
expect held_connections_survive_on_every_pod [ "$(echo "$h" | json_get 'd["opened"] == 24 and all(c["failed"] == 0 and c["ok"] > 20 for c in d["connections"])')" = True ]
out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 200)
echo "  after the changes: $out"
expect new_connections_only_to_pods_1_and_4 \
	[ "$(echo "$out" | json_get 'd["ok"] == 200 and sorted(d["by_backend"]) == ["pod-1", "pod-4"]')" = True ]
