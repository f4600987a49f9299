#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Many nodes behind an ECMP router, with real BGP (BIRD 2) everywhere:
#
#   client --c0/r0-- router (BIRD: 3 eBGP peers, merge paths -> ECMP route,
#    fib_multipath_hash_policy=1)  --nI/eth0-- LB node I (fluxlbd, native XDP
#    on eth0, BIRD from `fluxlbd --bird-config`), I = 1..3
#   router --bJ/eth0-- backend J (decap XDP, VIP on lo, HTTP), J = 1..4
#
# The nodes send encapsulated packets back out eth0 (XDP_TX) to the router,
# which forwards them to the backends; backends answer the client through the
# router (DSR). Shows: the router learns the VIP from all three nodes (one
# ECMP route, three next hops, our community); a node's route goes within a
# second of its fluxlbd finding no usable backend, or of SIGTERM (latency
# printed); a rolling restart of all three daemons fails no new connection;
# three daemons fed the same backends in different orders build the same
# Maglev table (same fingerprint, different backend ids).
#
# The topology lives in tests/lib/bgp_topo.sh, shared with
# test_second_chance.sh (flows that move between nodes, resets counted).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbg$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip bgp "needs root (netns, XDP)"
	exit 0
fi
if ! command -v bird >/dev/null || ! command -v birdc >/dev/null; then
	skip bgp "BIRD 2 is not installed (scripts/install-deps.sh installs bird2)"
	exit 0
fi

source "$ROOT/tests/lib/bgp_topo.sh"

# Route changes with the kernel's timestamps, for every table of the router
# and the nodes: latencies measured from these are not inflated by the
# polling loops (process starts on a loaded machine).
mon_start() {
	local n
	for n in rt $(seq -f 'n%g' 1 $NODES); do
		ip -ts -n "$(ns "$n")" monitor route >"$RUN/mon-$n.txt" 2>&1 &
		PIDS+=($!)
	done
	sleep 0.2
}
# mon_ms T I: "NODE ROUTER": ms from T (date +%s.%N) to the first change of
# the VIP's route in node I's announce table, and on the router (-1: none).
# The stamps are when each `ip monitor` read the message: a monitor the
# scheduler runs late can make the node's stamp later than the router's.
mon_ms() {
	python3 - "$1" "$RUN/mon-n$2.txt" "$RUN/mon-rt.txt" "$VIP" "$TABLE" <<'PY'
import datetime, sys
t0, vip, table = float(sys.argv[1]), sys.argv[4], "table " + sys.argv[5]
def first(path, pred):
    for line in open(path):
        if line.startswith("[") and pred(line):
            t = datetime.datetime.strptime(line[1:27], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            if t >= t0:
                return round((t - t0) * 1e3)
    return -1
print(first(sys.argv[2], lambda l: " " + vip + " " in l and table in l),
      first(sys.argv[3], lambda l: " " + vip + " " in l or l[27:].lstrip().startswith(vip + " ")))
PY
}

topo
mon_start
ORDERS=("1 2 3 4" "4 3 2 1" "2 4 1 3")
router_bird
for i in $(seq 1 $NODES); do
	# shellcheck disable=SC2086
	write_node_cfg "$i" 1 ${ORDERS[$((i - 1))]}
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

# --- The router learns the VIP from every node ------------------------------
t=$(wait_nexthops 3 20)
echo "  router: $(ip -n "$(ns rt)" -4 route show "$VIP/32" | tr -s ' \n' ' ')"
expect router_has_ecmp_route_with_3_nexthops [ "$t" -ge 0 ]
expect route_carries_community_65000_100 \
	sh -c "birdc -s $RUN/bird-rt.ctl show route $VIP/32 all | grep -q '(65000,100)'"
for i in $(seq 1 $NODES); do
	expect "n${i}_table_${TABLE}_has_blackhole_vip_proto_242" \
		sh -c "ip -n $(ns "n$i") route show table $TABLE | grep -q 'blackhole $VIP proto 242'"
done
m=$(scrape 1)
expect metric_announce_vips_1 grep -q '^fluxlb_announce_vips 1$' <<<"$m"
if command -v promtool >/dev/null; then
	lint() { echo "$m" | promtool check metrics; }
	expect metrics_pass_promtool_lint lint
else
	skip metrics_pass_promtool_lint "promtool not installed"
fi
expect metric_vip_announced grep -q '^fluxlb_vip_announced{vip_service="web",vip="10.100.0.1:80/tcp"} 1$' <<<"$m"

# --- Traffic spreads over the nodes and reaches every backend ---------------
out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 120)
echo "  120 connections: $out"
expect all_answered_by_all_backends \
	[ "$(echo "$out" | json_get 'd["ok"] == 120 and len(d["by_backend"]) == 4')" = True ]
used=0
for i in $(seq 1 $NODES); do
	tx=$(node_flb "$i" -j stats | json_get 'd["reasons"]["fwd_tx"]')
	echo "  n$i forwarded (fwd_tx): $tx"
	[ "$tx" -gt 0 ] && used=$((used + 1))
done
expect ecmp_used_all_3_nodes [ "$used" = 3 ]

# --- Same backends, different orders: same table ----------------------------
fps=() ids=()
for i in $(seq 1 $NODES); do
	fp=$(node_flb "$i" -j vip list | json_get 'd["vips"][0]["fingerprint"]')
	mfp=$(scrape "$i" | sed -n 's/^fluxlb_vip_table_info{.*fingerprint="\([0-9a-f]*\)".*/\1/p')
	id=$(node_flb "$i" -j backend list | json_get '[b["id"] for b in d["backends"] if b["address"] == "10.30.0.11"][0]')
	echo "  n$i order ${ORDERS[$((i - 1))]}: fingerprint $fp (metric $mfp), id of 10.30.0.11: $id"
	[ "$fp" = "$mfp" ] || fail "n${i}_cli_fingerprint_equals_metric" "$fp != $mfp"
	fps+=("$fp")
	ids+=("$id")
done
expect fingerprints_identical_across_3_nodes \
	[ "${fps[0]}" != None -a "${fps[0]}" = "${fps[1]}" -a "${fps[1]}" = "${fps[2]}" ]
expect backend_ids_differed_so_the_orders_did [ "${ids[0]}" != "${ids[1]}" -o "${ids[1]}" != "${ids[2]}" ]

# --- No usable backend: withdrawn within a second ---------------------------
T=$(date +%s.%N)
write_node_cfg 1 0 1 2 3 4   # every backend weight 0 (drain): nothing takes new flows
wait_nexthops 2 5 >/dev/null
read -r tn t <<<"$(mon_ms "$T" 1)"
echo "  n1 all backends drained (file renamed in) -> route deleted from n1's table after ${tn} ms (inotify, 50 ms debounce, apply), router's route changed after ${t} ms"
expect withdraw_on_no_usable_backend_within_1s [ "$tn" -ge 0 -a "$t" -ge 0 -a "$t" -lt 1000 ]
expect withdraw_logged_with_reason grep -q 'msg="VIP withdrawn" vip=10.100.0.1 .*why="no usable backend"' "$(node_log 1)"
write_node_cfg 1 1 1 2 3 4
t=$(wait_nexthops 3 5)
echo "  n1 backends back -> 3 next hops after ${t} ms"
expect announced_again_when_usable [ "$t" -ge 0 ]

# --- SIGTERM: withdrawn first, then the grace, then exit ---------------------
t0=$(ms)
T=$(date +%s.%N)
kill -TERM "${DPID[2]}"
wait_nexthops 2 5 >/dev/null
alive=0
kill -0 "${DPID[2]}" 2>/dev/null && alive=1
stop_pid "${DPID[2]}"
exit_ms=$(($(ms) - t0))
read -r tn t <<<"$(mon_ms "$T" 2)"
echo "  n2 SIGTERM -> route deleted from n2's table after ${tn} ms, router's route changed after ${t} ms; fluxlbd exited after ~${exit_ms} ms (grace $GRACE)"
expect withdraw_on_sigterm_within_1s [ "$tn" -ge 0 -a "$t" -ge 0 -a "$t" -lt 1000 ]
expect daemon_waits_grace_after_withdraw [ "$alive" = 1 -a "$exit_ms" -ge 900 ]
expect shutdown_logged grep -q 'why="shutting down"' "$(node_log 2)"
node_start 2 || fail n2_restart "fluxlbd did not become ready again"
t=$(wait_nexthops 3 5)
echo "  n2 restarted -> 3 next hops after ${t} ms"
expect reannounced_after_restart [ "$t" -ge 0 ]

# --- Rolling restart under a stream of new connections ----------------------
# New connections one after another until the stop file appears (client.py's
# get(): one GET per connection, 3 s timeout); prints client.py's stream JSON.
in_ns cl python3 - "$ROOT/tests/lib" "$VIP" "$RUN/stream.stop" >"$RUN/stream.json" <<'PY' &
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from client import get
ok, failed, by, errors, t0 = 0, 0, {}, [], time.monotonic()
while not os.path.exists(sys.argv[3]):
    name = get(sys.argv[2], 80)
    if name is None:
        failed += 1
        errors.append(round(time.monotonic() - t0, 2))
    else:
        ok += 1
        by[name] = by.get(name, 0) + 1
print(json.dumps({"ok": ok, "failed": failed, "by_backend": by, "errors": errors[:20]}))
PY
SPID=$!
PIDS+=($SPID)
sleep 1
rolled=0 slow=0
for i in $(seq 1 $NODES); do
	t0=$(ms)
	T=$(date +%s.%N)
	kill -TERM "${DPID[$i]}"
	wait_nexthops 2 5 >/dev/null
	stop_pid "${DPID[$i]}"
	node_start "$i" || break
	wait_nexthops 3 5 >/dev/null || break
	read -r _ t <<<"$(mon_ms "$T" "$i")"
	echo "  rolling: n$i off the router after ${t} ms, back in $(($(ms) - t0)) ms"
	[ "$t" -ge 0 ] && [ "$t" -lt 1000 ] || slow=$((slow + 1))
	rolled=$((rolled + 1))
	sleep 1
done
sleep 0.5
touch "$RUN/stream.stop"
wait "$SPID"
s=$(cat "$RUN/stream.json")
echo "  stream during the rolling restart: $s"
expect rolling_restart_of_3_nodes_done [ "$rolled" = 3 ]
expect rolling_restart_each_withdrawn_within_1s [ "$slow" = 0 ]
expect rolling_restart_0_failed_new_connections \
	[ "$(echo "$s" | json_get 'd["failed"] == 0 and d["ok"] > 100')" = True ]
m=$(scrape 3)
expect metric_changes_counted grep -q '^fluxlb_announce_changes_total{action="announce"} 1$' <<<"$m"

# --- Reload: another table moves the route; no section withdraws it ---------
node_table() { ip -n "$(ns n3)" route show table "$1" | grep -c "blackhole $VIP "; }
sed -i "s/^  table: $TABLE\$/  table: 4243/" "$(node_cfg 3)"
wait_nexthops 2 5 >/dev/null
expect reload_to_another_table_moves_the_route [ "$(node_table $TABLE)" = 0 -a "$(node_table 4243)" = 1 ]
sed -i '/^announce:/,/^services:/{/^services:/!d}' "$(node_cfg 3)"
for _ in $(seq 1 100); do [ "$(node_table 4243)" = 0 ] && break; sleep 0.05; done
turned_off() { [ "$(node_table 4243)" = 0 ] && grep -q 'why="announce turned off"' "$(node_log 3)"; }
expect reload_without_announce_withdraws turned_off
