#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A failing health check stops new flows only: when just /health fails (the
# service itself works), the backend leaves the table but every established
# connection on it keeps being served by it (on_unhealthy: drain, the
# default). With on_unhealthy: reset its established flows move.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbuh$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip unhealthy "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
FAILFILE=/run/$TOPO/b1-health-fails

topo_up
config() { # $1: on_unhealthy line (or nothing)
	cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
defaults:
  health_check: {type: http, path: /health, interval: 300ms, timeout: 200ms, rise: 2, fall: 2}
  $1
services:
  - name: web
    vip: $VIP
    port: 80
    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]
YAML
}
config ""
# Backend 1's server again, with a /health that fails while $FAILFILE exists.
kill "$(ip netns pids "$(ns b1)" | head -1)"
bg_in_ns b1 "/run/$TOPO/httpd-1.log" python3 "$ROOT/tests/lib/httpd.py" backend-1 80 "$FAILFILE"
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

# run_case NAME: 48 held connections; then /health of backend 1 fails.
run_case() {
	local n
	sleep 0.6 # both backends up (checks pass: unknown -> up)
	in_ns cl python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 48 5 >"/run/$TOPO/hold-$1.json" &
	local hold=$!
	# All 48 established (on a busy machine the client starts slowly).
	for _ in $(seq 1 100); do
		[ "$(in_ns cl ss -Htn state established dst "$VIP" | wc -l)" -ge 48 ] && break
		sleep 0.05
	done
	sleep 0.3
	n=$(grep -c 'backend=10.10.2.11 port=80 from=[a-z]* to=down' "$DAEMON_LOG")
	touch "$FAILFILE"
	wait_log 'backend=10.10.2.11 port=80 from=[a-z]* to=down' $((n + 1)) ||
		echo "  backend 1 not marked down"
	sleep 0.3
	NEW=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 40)
	wait "$hold"
	HOLD=$(cat "/run/$TOPO/hold-$1.json")
	n=$(grep -c 'backend=10.10.2.11 port=80 from=down to=up' "$DAEMON_LOG")
	rm -f "$FAILFILE"
	wait_log 'backend=10.10.2.11 port=80 from=down to=up' $((n + 1))
}
summary='(d["opened"], sum(c["backend"] == "backend-1" for c in d["connections"]), sum(c["failed"] > 0 for c in d["connections"]), sum(c["failed"] > 0 and c["backend"] == "backend-1" for c in d["connections"]))'

run_case drain
echo "  default (drain): held (opened, on backend-1, broken, broken on backend-1) = $(echo "$HOLD" | json_get "$summary"); new: $NEW"
expect new_flows_avoid_unhealthy_backend [ "$(echo "$NEW" | json_get 'd["failed"] == 0 and "backend-1" not in d["by_backend"]')" = True ]
expect held_connections_on_unhealthy_backend_all_survive \
	[ "$(echo "$HOLD" | json_get 'd["opened"] == 48 and sum(c["backend"] == "backend-1" for c in d["connections"]) >= 12 and all(c["failed"] == 0 for c in d["connections"])')" = True ]

config "on_unhealthy: reset"
n=$(grep -c 'msg="reloaded"' "$DAEMON_LOG")
kill -HUP "$DAEMON_PID"
wait_log 'msg="reloaded"' $((n + 1))
run_case reset
echo "  on_unhealthy: reset: held (opened, on backend-1, broken, broken on backend-1) = $(echo "$HOLD" | json_get "$summary")"
expect reset_moves_held_connections_of_unhealthy_backend \
	[ "$(echo "$HOLD" | json_get 'all((c["failed"] > 0) == (c["backend"] == "backend-1") for c in d["connections"]) and any(c["failed"] for c in d["connections"])')" = True ]
