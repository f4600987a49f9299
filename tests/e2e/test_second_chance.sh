#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Second chance (docs/bgp.md "Second chance") on test_bgp.sh's topology
# (tests/lib/bgp_topo.sh): client -> ECMP router (BIRD) -> 3 LB nodes
# (fluxlbd + BIRD) -> 4 backends with decap. The VIP starts with backends
# 1-3. 300 long-lived connections are opened and answered; backend 4 is
# added (every node's table changes; their conntrack keeps the flows), then
# node 1 is taken out of ECMP on the router (its flows, and those the
# router's hash-threshold reshuffles, move to nodes without their entries).
# With second_chance on: 0 connections reset. Off: the resets (> 0). A flow
# "moved" when its entry on the node that carried it was not touched after
# the change (a flow that stayed refreshes it). Prints resets per 1,000
# moved flows for both, and the counters of every branch.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbs$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip second_chance "needs root (netns, XDP)"
	exit 0
fi
if ! command -v bird >/dev/null || ! command -v birdc >/dev/null; then
	skip second_chance "BIRD 2 is not installed (scripts/install-deps.sh installs bird2)"
	exit 0
fi
source "$ROOT/tests/lib/bgp_topo.sh"
N=300

chance_cfg() { NODE_CFG_EXTRA="second_chance: {enabled: $1, window: 10m}"; }
reloads() { grep -c 'msg="reloaded"' "$(node_log "$1")"; }
# configure_all WEIGHT BACKENDS...: every node's file, then waits for each reload.
configure_all() {
	local i before=()
	for i in $(seq 1 $NODES); do before[i]=$(reloads "$i"); done
	for i in $(seq 1 $NODES); do write_node_cfg "$i" "$@"; done
	for i in $(seq 1 $NODES); do
		for _ in $(seq 1 200); do
			[ "$(reloads "$i")" -gt "${before[i]}" ] && break
			sleep 0.05
		done
	done
}
event() { node_flb "$1" -j stats | json_get "d['events']['$2']"; }
# decap_counts J NAME...: backend J's decap counters (flb_dcp_reasons,
# found through the program attached to its eth0), one line.
decap_counts() {
	local j=$1
	shift
	in_ns "b$j" bpftool -j net show dev eth0 | python3 -c '
import json, subprocess, sys
def bt(*a):
    return json.loads(subprocess.check_output(["bpftool", "-j"] + [str(x) for x in a]))
names = [l.split("\"")[1] for l in open(sys.argv[1]) if l.lstrip().startswith("X(")]
prog = json.load(sys.stdin)[0]["xdp"][0]["id"]
m = [m for m in bt("prog", "show", "id", prog)["map_ids"]
     if bt("map", "show", "id", m)["name"] == "flb_dcp_reasons"][0]
vals = {}
for e in bt("map", "dump", "id", m):
    f = e["formatted"]
    vals[f["key"]] = sum(c["value"] for c in f["values"])
print(" ".join(str(vals.get(names.index(n), 0)) for n in sys.argv[2:]))' "$ROOT/include/flb_reasons.h" "$@"
}
# flows I: node I's conntrack as "port age_s" lines.
flows() {
	node_flb "$1" -j flow list --limit 100000 |
		json_get '"\n".join("%s %s" % (f["src"].rsplit(":", 1)[1], f["age_s"]) for f in d["flows"])'
}

# run_phase on|off: prints "moved resets opened" and the checks' lines.
run_phase() {
	local mode=$1 dir i t_go
	dir=$RUN/phase-$mode
	mkdir -p "$dir"
	chance_cfg "$( [ "$mode" = on ] && echo true || echo false)"
	configure_all 1 1 2 3 >&2
	birdc -s "$RUN/bird-rt.ctl" enable node1 >/dev/null
	wait_nexthops 3 10 >/dev/null || echo "  (router did not get 3 next hops back)" >&2
	in_ns cl python3 "$ROOT/tests/lib/held_flows.py" "$VIP" 80 "$N" "$dir" >"$dir/result.json" &
	local hp=$!
	PIDS+=($hp)
	for _ in $(seq 1 400); do [ -e "$dir/opened.json" ] && break; sleep 0.05; done
	for i in $(seq 1 $NODES); do flows "$i" | sed "s/\$/ n$i/" >>"$dir/before.txt"; done
	configure_all 1 1 2 3 4 >&2                       # the tables change
	birdc -s "$RUN/bird-rt.ctl" disable node1 >/dev/null  # the flows move
	wait_nexthops 2 10 >/dev/null || echo "  (router kept node 1)" >&2
	sleep 1.2   # every entry older than conntrack's 1 s touch granularity
	t_go=$(date +%s.%N)
	touch "$dir/go"
	wait "$hp"
	for i in $(seq 1 $NODES); do flows "$i" | sed "s/\$/ n$i/" >>"$dir/after.txt"; done
	python3 - "$dir" "$t_go" "$(date +%s.%N)" <<'PY'
import json, sys
d, t_go, now = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def rows(name):
    out = {}
    for l in open(f"{d}/{name}"):
        p = l.split()
        if len(p) == 3:
            out.setdefault(p[0], {})[p[2]] = float(p[1])
    return out
before, after = rows("before.txt"), rows("after.txt")
res = json.load(open(f"{d}/result.json"))
moved = resets = 0
for c in res["conns"]:
    port = str(c["port"])
    nodes = before.get(port, {})
    if len(nodes) != 1:
        continue  # not attributable to one node
    (node, _), = nodes.items()
    age = after.get(port, {}).get(node)
    # Not refreshed by the last rounds: its packets went to another node.
    if age is None or age > now - t_go + 0.5:
        moved += 1
resets = sum(c["failed"] for c in res["conns"])
print(moved, resets, res["opened"])
PY
}

topo
for j in $(seq 1 $NB); do   # backends hairpin second-chance packets back to the router
	ip -n "$(ns rt)" link set dev "b$j" xdpdrv obj "$PASS_PROG" sec xdp
done
router_bird
chance_cfg true
for i in $(seq 1 $NODES); do
	write_node_cfg "$i" 1 1 2 3
	node_bird "$i" || { fail bird_config "fluxlbd --bird-config failed for n$i"; exit 1; }
done
for i in $(seq 1 $NODES); do
	node_start "$i" || { fail "n${i}_ready" "fluxlbd did not become ready"; exit 1; }
done
for j in $(seq 1 $NB); do
	for _ in $(seq 1 50); do
		in_ns "b$j" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 80), 1)' \
			2>/dev/null && break
		sleep 0.1
	done
done
t=$(wait_nexthops 3 20)
expect router_has_3_nexthops [ "$t" -ge 0 ]

# --- With second chance ------------------------------------------------------
read -r moved_on resets_on opened_on <<<"$(run_phase on)"
sent=0
for i in 2 3; do sent=$((sent + $(event "$i" chance_sent))); done
fwd=0 sock=0 lost=0
for j in $(seq 1 $NB); do
	read -r f b k l <<<"$(decap_counts "$j" decap_chance_fwd decap_chance_back decap_chance_sock decap_chance_lost)"
	fwd=$((fwd + f + b)) sock=$((sock + k)) lost=$((lost + l))
done
echo "  second chance on: $opened_on connections, $moved_on moved, $resets_on reset; nodes sent $sent packets with a secondary; backends forwarded $fwd to the secondary, delivered $sock to a local socket, $lost lost"
expect on_all_${N}_connections_opened [ "$opened_on" = "$N" ]
expect on_flows_moved [ "$moved_on" -ge 20 ]
expect on_0_connections_reset [ "$resets_on" = 0 ]
expect on_packets_carried_a_secondary [ "$sent" -gt 0 ]
expect on_backends_forwarded_to_the_secondary [ "$fwd" -gt 0 ]
expect on_nothing_lost_at_the_backends [ "$lost" = 0 ]
p=$(node_flb 2 -j vip list | json_get 'd["vips"][0]["id"]')
expect previous_table_pinned [ -e "$BPFFS/n2/v3/flb_rings_prev" -a -e "$BPFFS/n2/v3/flb_chance" ]
w=$(bpftool -j map lookup pinned "$BPFFS/n2/v3/flb_chance" key "$p" 0 0 0 | json_get 'd["formatted"]["value"]["window_s"]')
expect window_10m_recorded_for_the_vip [ "$w" = 600 ]

# --- Without ------------------------------------------------------------------
read -r moved_off resets_off opened_off <<<"$(run_phase off)"
echo "  second chance off: $opened_off connections, $moved_off moved, $resets_off reset"
expect off_all_${N}_connections_opened [ "$opened_off" = "$N" ]
expect off_flows_moved [ "$moved_off" -ge 20 ]
expect off_some_connections_reset [ "$resets_off" -gt 0 ]
w=$(bpftool -j map lookup pinned "$BPFFS/n2/v3/flb_chance" key "$p" 0 0 0 | json_get 'd["formatted"]["value"]["expires"]')
expect off_window_ended [ "$w" = 0 ]

per() { [ "$1" -gt 0 ] && echo $(($2 * 1000 / $1)) || echo n/a; }
echo "  resets per 1,000 moved flows: with second chance $(per "$moved_on" "$resets_on"), without $(per "$moved_off" "$resets_off")"
