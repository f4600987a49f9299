#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Per-backend caps with real servers and native XDP (docs/policies.md,
# "Caps"): a client opens new connections at a paced rate for a few
# seconds; backend-1 (weight 9 of 10: it is the Maglev choice of ~90 % of
# them) is capped at CAP new flows per second, so it receives CAP per second
# (the bucket's burst aside) and the rest spill to backend-2, with no
# connection lost. Then caps so low that every candidate is over: new flows
# are dropped (cap_drop, refused) while an established connection keeps
# working.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbcap$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip caps "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
RATE=30 SECS=6   # offered new connections per second, for SECS (under the caps of both: 40/s)
CAP=20 BURST=2   # caps.max_new_flows_per_second and burst of each backend
CPUS=$(nproc)

topo_up
MPORT=$(in_ns lb python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
write_config() { # CAP BURST
	cat >"$CONFIG.new" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
metrics: {listen: "127.0.0.1:$MPORT"}
services:
  - name: web
    vip: $VIP
    port: 80
    candidates: 2
    caps: {max_new_flows_per_second: $1, burst: $2}
    backends: [{address: 10.10.2.11, weight: 9}, {address: 10.10.2.12, weight: 1}]
YAML
	mv "$CONFIG.new" "$CONFIG"
}
scrape() { in_ns lb curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics"; }
metric() { scrape | sed -n "s/^$1 //p"; }
# paced RATE SECS: new connections at a fixed rate (one thread each), one
# GET each: {"ok", "failed", "by_backend"}.
paced() {
	in_ns cl python3 -c '
import json, sys, threading, time
sys.path.insert(0, sys.argv[4])
from client import get
vip, rate, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
res, lock, threads = {}, threading.Lock(), []
def one():
    name = get(vip, 80, timeout=10.0)
    with lock:
        res[name] = res.get(name, 0) + 1
t0 = time.monotonic()
for i in range(int(rate * secs)):
    delay = t0 + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    t = threading.Thread(target=one)
    t.start()
    threads.append(t)
for t in threads:
    t.join()
failed = res.pop(None, 0)
print(json.dumps({"ok": sum(res.values()), "failed": failed, "by_backend": res}))
' "$VIP" "$1" "$2" "$ROOT/tests/lib"
}
count() { echo "$2" | json_get "d['by_backend'].get('$1', 0)"; }

write_config $CAP $BURST
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

r=$(paced $RATE $SECS)
b1=$(count backend-1 "$r") b2=$(count backend-2 "$r")
echo "  $((RATE * SECS)) connections at $RATE/s for ${SECS}s: $r"
echo "  rate reaching backend-1: $(python3 -c "print(round($b1 / $SECS, 1))")/s (cap $CAP/s, burst $BURST), backend-2: $(python3 -c "print(round($b2 / $SECS, 1))")/s"
expect cap_all_connections_answered [ "$(echo "$r" | json_get 'd["failed"] == 0')" = True ]
# At most the cap over the run, plus the bucket's depth and one per CPU.
expect cap_backend1_at_most_its_rate [ "$b1" -le $((CAP * SECS + BURST + CPUS)) ]
# Offered ~0.9 x RATE > CAP: the capped backend is kept busy at its rate.
expect cap_backend1_saturated_at_its_rate [ "$b1" -ge $((CAP * SECS * 8 / 10)) ]
expect cap_rest_spilled_to_backend2 [ "$b2" -ge $((RATE * SECS - CAP * SECS - BURST - CPUS)) ]
spills=$(metric 'fluxlb_policy_spills_total{vip_service="web",backend="10.10.2.11",why="cap"}')
echo "  spills of backend-1 (why=cap): $spills"
# Each spill of backend-1 is a connection backend-2 answered (none was
# dropped); backend-2 also answered those Maglev gave it (~1/10).
expect cap_spills_counted_per_backend [ "${spills:-0}" -gt 0 -a "${spills:-0}" -le "$b2" ]

# Every candidate over: new flows dropped and counted; an established
# connection is untouched.
bg_in_ns cl "/run/$TOPO/hold.json" python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 1 8
HOLD=${PIDS[-1]}
sleep 1
write_config 1 1
wait_log 'msg="reloaded"' 1 10
drops0=$(metric 'fluxlb_events_total{event="cap_drop"}')
r=$(paced 40 2)
drops1=$(metric 'fluxlb_events_total{event="cap_drop"}')
refused=$(metric 'fluxlb_policy_refused_total{vip_service="web",backend="10.10.2.11"}')
echo "  80 connections at 40/s with 1/s caps: $r; cap_drop $drops0 -> $drops1; refused (backend-1) $refused"
expect cap_every_candidate_over_drops_new_flows [ "${drops1:-0}" -gt "${drops0:-0}" ]
expect cap_refused_counted [ "${refused:-0}" -gt 0 ]
stop_pid "$HOLD"
held=$(cat "/run/$TOPO/hold.json")
echo "  the established connection: $held"
expect cap_established_flow_unaffected [ "$(echo "$held" | json_get 'd["connections"][0]["failed"] == 0 and d["connections"][0]["ok"] > 20')" = True ]
expect daemon_survived kill -0 "$DAEMON_PID"
