#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# New-flow schedulers with real servers and native XDP (docs/policies.md):
# - round_robin spreads 1,000 new connections within +-2 % (of 1,000) of
#   the weights 1:2:1;
# - least_conn: one backend holds 100 long-lived connections (it was the
#   only backend); once two more join, new flows go elsewhere while it is
#   over its bound, the dataplane's active-flow count matches the
#   connections the backends hold, no backend ends over its bound by more
#   than the documented slack, and when the 100 close it takes new flows
#   again.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbsc$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip schedulers "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
N=1000
EPS=0.25
CPUS=$(nproc)    # slack: one flow per CPU placed at the same instant

topo_up
MPORT=$(in_ns lb python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# write_config SCHEDULER_KEYS BACKENDS
write_config() {
	cat >"$CONFIG.new" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
metrics: {listen: "127.0.0.1:$MPORT"}
services:
  - name: web
    vip: $VIP
    port: 80
$1
    backends: [$2]
YAML
	mv "$CONFIG.new" "$CONFIG"
}
RELOADS=0
reload() { write_config "$1" "$2"; RELOADS=$((RELOADS + 1)); wait_log 'msg="reloaded"' "$RELOADS" 10; }
scrape() { in_ns lb curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }
active() { scrape | sed -n "s/^fluxlb_policy_active_flows{vip_service=\"web\",backend=\"$1\"} //p"; }
spread() { in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 "$1"; }
count() { echo "$2" | json_get "d['by_backend'].get('$1', 0)"; }
# established I: connections backend I holds on port 80 (its own view).
established() { in_ns "b$1" ss -Htn state established '( sport = :80 )' | wc -l; }
wait_established() { # I N SECONDS
	local _
	for _ in $(seq 1 $(($3 * 10))); do
		[ "$(established "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
py() { python3 -c "print($1)"; }

write_config "    scheduler: round_robin" \
	"{address: 10.10.2.11}, {address: 10.10.2.12, weight: 2}, {address: 10.10.2.13}"
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

# ---- round robin ----
r=$(spread $N)
echo "  round_robin, weights 1:2:1, $N connections: $r"
expect rr_all_answered [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["ok"] == '$N)" = True ]
ok=1
for i in 1 2 3; do
	want=$(( i == 2 ? N / 2 : N / 4 ))
	got=$(count "backend-$i" "$r")
	echo "  backend-$i: $got (weight share $want, allowed +-$((N / 50)))"
	[ $((got - want)) -le $((N / 50)) ] && [ $((want - got)) -le $((N / 50)) ] || ok=0
done
expect rr_spread_within_2_percent_of_weights [ $ok = 1 ]
w=$(flb -j which tcp 10.10.1.2:40000 "$VIP:80")
echo "  fluxlb which under round_robin: $(echo "$w" | json_get 'd["policy"]')"
expect rr_which_shows_each_cpu_cursor [ "$(echo "$w" | json_get 'd["policy"]["scheduler"] == "round_robin" and len(d["policy"]["cpus"]) == '"$CPUS"' and all(c["backend"] for c in d["policy"]["cpus"])')" = True ]

# ---- least_conn ----
LC="    scheduler: least_conn
    least_conn: {epsilon: $EPS}
    candidates: 3"
reload "$LC" "{address: 10.10.2.11}"
bg_in_ns cl "/run/$TOPO/hold1.json" python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 100 60
HOLD1=${PIDS[-1]}
wait_established 1 100 20
echo "  backend-1 holds $(established 1) connections"
reload "$LC" "{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}"
a1=$(active 10.10.2.11)
echo "  active flows of backend-1 as the dataplane counts them: $a1"
expect lc_counts_the_100_held_connections [ "${a1:-x}" = 100 ]
r=$(spread 150)
echo "  150 new connections while backend-1 is over its bound: $r"
expect lc_new_flows_go_elsewhere_while_over_bound [ "$(count backend-1 "$r")" -eq 0 ]
expect lc_all_answered [ "$(echo "$r" | json_get 'd["failed"] == 0')" = True ]
# `fluxlb which` for a flow whose Maglev backend is backend-1: over its
# bound, then the next slot's backend takes it.
for sp in $(seq 40000 40100); do
	w=$(flb -j which tcp "10.10.1.2:$sp" "$VIP:80")
	[ "$(echo "$w" | json_get 'd["maglev"]["backend"]')" = 10.10.2.11 ] && break
done
flb which tcp "10.10.1.2:$sp" "$VIP:80" | sed -n '/^policy/,$p' | sed 's/^/  | /'
expect lc_which_explains_the_walk [ "$(echo "$w" | json_get 'd["policy"]["walk"][0]["verdict"] == "over its bound" and d["policy"]["walk"][0]["active"] == 100 and d["policy"]["walk"][-1]["verdict"] == "-> a new flow goes here" and d["policy"]["new_flow_backend_id"] == d["policy"]["walk"][-1]["backend_id"]')" = True ]

# 150 more long-lived connections: placed one by one under the bound.
bg_in_ns cl "/run/$TOPO/hold2.json" python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 150 60
for _ in $(seq 1 200); do
	[ $(($(established 1) + $(established 2) + $(established 3))) -ge 250 ] && break
	sleep 0.1
done
sleep 1.5 # one correction walk
e1=$(established 1) e2=$(established 2) e3=$(established 3)
a1=$(active 10.10.2.11) a2=$(active 10.10.2.12) a3=$(active 10.10.2.13)
total=$((e1 + e2 + e3))
bound=$(py "int(-(-(1 + $EPS) * $total // 3))")
echo "  held per backend (backends' view): $e1 $e2 $e3; dataplane's active counts: $a1 $a2 $a3"
echo "  bound at $total active flows: $bound (+ slack $CPUS)"
expect lc_active_count_matches_backends [ "$a1 $a2 $a3" = "$e1 $e2 $e3" ]
over=0
for e in $e1 $e2 $e3; do [ "$e" -le $((bound + CPUS)) ] || over=1; done
expect lc_no_backend_over_bound_beyond_slack [ $over = 0 ]
# backend-1 (100 held) takes new ones only once 1.25 x (total + 1) / 3 > 100.
expect lc_over_bound_backend_took_only_what_its_bound_allows [ "$e1" -le $((bound + CPUS)) ]

# The 100 close (client FINs): backend-1 is under its bound again.
kill "$HOLD1"
stop_pid "$HOLD1"
left=$((e1 - 100)) # backend-1's connections of the second hold
for _ in $(seq 1 50); do [ "$(active 10.10.2.11)" = "$left" ] && break; sleep 0.1; done
echo "  backend-1 after the 100 closed: active $(active 10.10.2.11), held $(established 1)"
expect lc_client_fins_end_the_count [ "$(active 10.10.2.11)" = "$left" ]
r=$(spread 150)
back=$(count backend-1 "$r")
echo "  after the 100 closed, 150 new connections: $r"
expect lc_back_under_bound_takes_new_flows [ "$back" -ge 50 ]
expect daemon_survived kill -0 "$DAEMON_PID"
