#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Load-aware weights with real servers and native XDP: three backends answer
# their HTTP health check with a JSON body (tests/lib/httpd.py,
# HTTPD_HEALTH_JSON_DIR). One reporting 90 % CPU gets clearly fewer of 600
# new connections than two reporting 10 %; when it reports 10 % again its
# share comes back; the scrape shows the effective weights; an unreadable
# body keeps the weight (counted, logged once) and the backend serving.
# The margins come from the configured mapping (factor = 1 - cpu / 100
# within [MIN, 1]), not from a magic number.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flblw$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip load_weights "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
N=600
MIN=0.1          # load_weights.min
HOT=90 COOL=10   # cpu_percent reported
INTERVAL_MS=1000 # load_weights.interval
LOADDIR=/run/$TOPO/load
export HTTPD_HEALTH_JSON_DIR=$LOADDIR

report() { printf '{"cpu_percent": %s, "memory_percent": 20}\n' "$2" >"$LOADDIR/backend-$1.json"; }
mkdir -p "$LOADDIR"
report 1 $HOT
report 2 $COOL
report 3 $COOL

topo_up
MPORT=$(in_ns lb python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
metrics: {listen: "127.0.0.1:$MPORT"}
services:
  - name: web
    vip: $VIP
    port: 80
    health_check: {type: http, path: /health, interval: 300ms, timeout: 250ms, rise: 1, fall: 3}
    load_weights: {from: cpu_percent, min: $MIN, max: 1, steps: 10, hysteresis: 0.05, interval: ${INTERVAL_MS}ms}
    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]
YAML
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

scrape() { in_ns lb curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }
# eff BACKEND: its fluxlb_backend_effective_weight in a fresh scrape.
eff() { scrape | sed -n "s/^fluxlb_backend_effective_weight{vip_service=\"web\",backend=\"$1\"} //p"; }
spread() { in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 "$N"; }
# share NAME JSON: connections NAME answered.
count() { echo "$2" | json_get "d['by_backend'].get('$1', 0)"; }
# py EXPR: a number from the mapping.
py() { python3 -c "print($1)"; }

wait_log 'backend load weight changed.*backend=10.10.2.11 .*to=0.100' 1 10
expect hot_backend_factor_logged_with_reason grep -q "backend=10.10.2.11 port=80 from=1.000 to=0.100 reason=\"cpu_percent=90.0\"" "$DAEMON_LOG"
sleep 0.5
w1=$(eff 10.10.2.11) w2=$(eff 10.10.2.12) w3=$(eff 10.10.2.13)
echo "  effective weights while hot: b1=$w1 b2=$w2 b3=$w3 (weight 1 counts 100 under load_weights)"
# The mapping: a hot factor of MIN (1 - 0.9 = 0.1, the bound); cool ones
# move to 0.9 or stay at 1.0 within the hysteresis.
expect scrape_shows_hot_weight_at_min [ "$w1" = "$(py "round(100 * $MIN)")" ]
expect scrape_shows_cool_weights_within_mapping python3 -c "import sys; sys.exit(not all(90 <= int(w) <= 100 for w in '$w2 $w3'.split()))"

r=$(spread)
echo "  hot: $r"
hot=$(count backend-1 "$r")
# Its largest possible share under the mapping, cool ones at their lowest:
# MIN / (MIN + 2 x 0.9). Allow twice that (far above binomial noise at N,
# far below an equal share).
limit=$(py "int(2 * $N * $MIN / ($MIN + 2 * 0.9))")
echo "  backend-1 answered $hot of $N (limit $limit; an equal share is $((N / 3)))"
expect all_connections_answered [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["ok"] == '$N)" = True ]
expect hot_backend_gets_clearly_fewer_new_flows [ "$hot" -le "$limit" ]
expect hot_backend_still_serves [ "$hot" -gt 0 ]

# An unreadable body: logged once, counted, the weight kept, still serving.
echo 'not json' >"$LOADDIR/backend-2.json"
wait_log 'load report unreadable.*backend=10.10.2.12' 1 5
sleep 1.5
expect bad_body_logged_once [ "$(grep -c 'load report unreadable.*backend=10.10.2.12' "$DAEMON_LOG")" -eq 1 ]
bad=$(scrape | sed -n 's/^fluxlb_backend_load_reports_bad_total{vip_service="web",backend="10.10.2.12"} //p')
echo "  bad reports of backend-2: $bad"
expect bad_bodies_counted [ "${bad:-0}" -ge 2 ]
expect bad_body_keeps_weight [ "$(eff 10.10.2.12)" = "$w2" ]
report 2 $COOL

# A load that moves within the hysteresis (8 %: raw factor 0.92, less than
# half a step plus the hysteresis from 1.0) rebuilds no table.
rebuilds() { scrape | sed -n 's/^fluxlb_vip_table_rebuilds_total{vip_service="web",vip="[^"]*"} //p'; }
before=$(rebuilds)
report 3 8
sleep $(py "3 * $INTERVAL_MS / 1000")
after=$(rebuilds)
echo "  table rebuilds before/after a load change within the hysteresis: $before/$after"
expect load_within_hysteresis_rebuilds_no_table [ "${before:-none}" = "${after:-missing}" ]
expect load_within_hysteresis_keeps_weight [ "$(eff 10.10.2.13)" = "$w3" ]

report 1 $COOL
wait_log 'backend load weight changed.*backend=10.10.2.11 .*from=0.100 to=0.900' 1 10
expect recovered_factor_logged grep -q "backend=10.10.2.11 port=80 from=0.100 to=0.900" "$DAEMON_LOG"
sleep 0.5
expect scrape_shows_recovered_weight [ "$(eff 10.10.2.11)" = 90 ]
r=$(spread)
echo "  recovered: $r"
back=$(count backend-1 "$r")
# Its smallest share now: 0.9 / (0.9 + 2 x 1.0); at least half of that.
floor=$(py "int($N * 0.5 * 0.9 / (0.9 + 2 * 1.0))")
echo "  backend-1 answered $back of $N (floor $floor)"
expect recovered_backend_share_comes_back [ "$back" -ge "$floor" ]
changes=$(scrape | sed -n 's/^fluxlb_vip_load_weight_changes_total{vip_service="web",vip="[^"]*"} //p')
echo "  load weight changes (table rebuilds caused): $changes"
expect scrape_counts_rebuilds_caused [ "${changes:-0}" -ge 2 ]
