#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The bad day, with real traffic: while a client opens new connections
# without pause and holds 20 long-lived ones, the configuration adds a
# backend, changes weights, removes a backend (it drains) and is replaced
# by a broken file (rejected); then the daemon is restarted five times
# (each start loads a new program that replaces the running one). No
# request may fail, and no long-lived connection may break or move.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbl$$
NBACKENDS=4
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip lifecycle "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

# write_config "ADDR:WEIGHT ..." : the service's backends, atomically (rename).
write_config() {
	{
		echo "interfaces: [eth0]"
		echo "node: {bpffs: $PIN_BASE}"
		echo "defaults: {drain_timeout: 60s}"
		echo "services:"
		echo "  - name: web"
		echo "    vip: $VIP"
		echo "    port: 80"
		echo "    backends:"
		for b in "$@"; do
			echo "      - {address: ${b%:*}, weight: ${b#*:}}"
		done
	} >"$CONFIG.tmp"
	mv "$CONFIG.tmp" "$CONFIG"
}


topo_up
write_config 10.10.2.11:1 10.10.2.12:1 10.10.2.13:1
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

CL=/run/$TOPO
in_ns cl python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 20 24 >"$CL/hold.json" &
HOLD=$!
in_ns cl python3 "$ROOT/tests/lib/client.py" stream "$VIP" 80 22 >"$CL/stream.json" &
STREAM=$!
PIDS+=("$HOLD" "$STREAM")
sleep 2

write_config 10.10.2.11:1 10.10.2.12:1 10.10.2.13:1 10.10.2.14:1
expect reload_adds_backend wait_log 'msg="reloaded"' 1
sleep 1.5
write_config 10.10.2.11:3 10.10.2.12:1 10.10.2.13:1 10.10.2.14:2
expect reload_changes_weights wait_log 'msg="reloaded"' 2
sleep 1.5
write_config 10.10.2.11:3 10.10.2.13:1 10.10.2.14:2
expect reload_removes_backend wait_log 'msg="reloaded"' 3
expect removed_backend_drains grep -q 'backend draining' "$DAEMON_LOG"
sleep 1.5
echo "services: [ {name: web, vip: 10.100.0.1" >"$CONFIG.tmp" && mv "$CONFIG.tmp" "$CONFIG"
expect broken_file_rejected wait_log 'reload rejected' 1
sleep 1.5
write_config 10.10.2.11:3 10.10.2.13:1 10.10.2.14:2
expect good_file_after_broken_one_applies wait_log 'msg="reloaded"' 4
# Five restarts: SIGTERM, then a new daemon adopts maps and replaces the program.
prog_ids=""
for i in 1 2 3 4 5; do
	kill "$DAEMON_PID"
	stop_pid "$DAEMON_PID"
	sleep 0.5
	daemon_start || { fail restart_$i "fluxlbd did not come back"; break; }
	prog_ids="$prog_ids $(in_ns lb ip -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])')"
	sleep 1
done
echo "  program ids after each restart:$prog_ids"
expect restarts_replace_the_program [ "$(echo $prog_ids | tr ' ' '\n' | sort -u | wc -l)" = 5 ]

wait "$STREAM"
wait "$HOLD"
s=$(cat "$CL/stream.json")
h=$(cat "$CL/hold.json")
echo "  stream: $(echo "$s" | json_get '{k: d[k] for k in ("ok", "failed", "errors")}')"
echo "  hold: $(echo "$h" | json_get '[(c["backend"], c["ok"], c["failed"]) for c in d["connections"]]')"
expect new_connections_without_failure [ "$(echo "$s" | json_get 'd["failed"] == 0 and d["ok"] >= 2000')" = True ]
expect twenty_long_lived_connections_survive [ "$(echo "$h" | json_get 'd["opened"] == 20 and all(c["failed"] == 0 and c["ok"] > 50 for c in d["connections"])')" = True ]
expect new_backend_took_traffic [ "$(echo "$s" | json_get 'd["by_backend"].get("backend-4", 0) > 0')" = True ]
