#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Health and drain state survive a daemon restart (SIGTERM and SIGKILL):
# a backend marked down stays out of the table across the restart (0 failed
# new connections from a client streaming through both restarts) and comes
# back once its server is back and it passed `rise` checks; and a
# draining backend keeps its drain deadline (the drain ends drain_timeout
# after it started, not after the restart: limit drain_timeout + 1.5 s, the
# 1 s drain tick and the reload).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbrs$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip restart_state "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
DRAIN_S=4

topo_up
config() { # $1: weight of backend 3
	cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
defaults:
  drain_timeout: ${DRAIN_S}s
  health_check: {type: http, path: /health, interval: 300ms, timeout: 200ms, rise: 2, fall: 2}
services:
  - name: web
    vip: $VIP
    port: 80
    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13, weight: $1}]
YAML
}
config 1
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
now() { date +%s.%N; }
restart() { # $1: signal
	kill -"$1" "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	daemon_start
}

# 1. A backend down stays down across restarts.
n=$(grep -c 'to=down' "$DAEMON_LOG")
kill "$(ip netns pids "$(ns b1)" | head -1)"
wait_log 'backend=10.10.2.11 port=80 from=[a-z]* to=down' $((n + 1)) 10
sleep 0.3
in_ns cl python3 "$ROOT/tests/lib/client.py" stream "$VIP" 80 6 >"/run/$TOPO/stream.json" &
STREAM=$!
sleep 1
restart TERM || { fail restart_term "fluxlbd did not become ready"; exit 1; }
sleep 1.5
restart KILL || { fail restart_kill "fluxlbd did not become ready"; exit 1; }
wait "$STREAM"
r=$(cat "/run/$TOPO/stream.json")
echo "  stream across SIGTERM and SIGKILL restarts: $r"
expect no_failed_connection_across_restarts [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["ok"] > 20')" = True ]
# Each restart said so, and no restart put it back in the table.
expect restarts_restore_the_down_verdict [ "$(grep -c 'health verdicts restored.* down=1' "$DAEMON_LOG")" = 2 ]
slots=$(flb -j backend list "$VIP:80" | json_get 'sum(b["slots"] for b in d["backends"] if b["address"] == "10.10.2.11")')
expect down_backend_has_no_slots_after_restarts [ "$slots" = 0 ]
# Its server back: it serves again once it passed `rise` checks.
n=$(grep -c 'backend=10.10.2.11 port=80 from=down to=up' "$DAEMON_LOG")
bg_in_ns b1 "/run/$TOPO/httpd-1.log" python3 "$ROOT/tests/lib/httpd.py" backend-1 80
wait_log 'backend=10.10.2.11 port=80 from=down to=up' $((n + 1)) 10
sleep 0.2
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
expect restored_down_backend_returns_after_rise [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["by_backend"].get("backend-1", 0) > 0')" = True ]

# 2. A draining backend keeps its deadline across a restart. Held
# connections keep flows on it, so only the timeout ends its drain.
n_dr=$(grep -c 'backend draining' "$DAEMON_LOG")
n_end=$(grep -c 'drain timed out\|backend drained' "$DAEMON_LOG")
in_ns cl python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 24 12 >"/run/$TOPO/hold.json" &
HOLD=$!
sleep 0.5
t0=$(now)
config 0 # the daemon sees the file change and reloads
wait_log 'backend draining' $((n_dr + 1)) 10
sleep 2
restart TERM || { fail restart_drain "fluxlbd did not become ready"; exit 1; }
wait_log 'drain timed out\|backend drained' $((n_end + 1)) 10
dt=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(now)")
line=$(grep 'drain timed out\|backend drained' "$DAEMON_LOG" | tail -1)
echo "  drain of 10.10.2.13 ended ${dt}s after it started (timeout ${DRAIN_S}s, restart after 2 s): $(echo "$line" | grep -o 'msg=.*')"
expect drain_deadline_kept_across_restart python3 -c "import sys; sys.exit(not ('timed out' in sys.argv[1] and float('$dt') <= $DRAIN_S + 1.5))" "$line"
wait "$HOLD"
