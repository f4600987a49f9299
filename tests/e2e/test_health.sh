#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Active health checks with real servers: a backend whose server stops
# leaves the table within fall x interval + 1 s and no new connection fails
# after that; it returns after `rise` successes once its server is back;
# with 2 of 3 down the service goes into panic mode (routes to all).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbh$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip health "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
INTERVAL_MS=500
FALL=2
RISE=2

topo_up
cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
defaults:
  panic_threshold: 50
  health_check: {type: http, path: /health, interval: ${INTERVAL_MS}ms, timeout: 300ms, rise: $RISE, fall: $FALL}
services:
  - name: web
    vip: $VIP
    port: 80
    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]
YAML
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
sleep 1

now() { date +%s.%N; }
# Seconds from $1 until the daemon logs a line matching $2 (max 10 s).
time_to_log() {
	local t0=$1 pat=$2
	for _ in $(seq 1 200); do
		if grep -q "$pat" "$DAEMON_LOG"; then
			python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(now)"
			return 0
		fi
		sleep 0.05
	done
	echo 99
}
server_pid() { ip netns pids "$(ns "$1")" | head -1; }

t0=$(now)
kill "$(server_pid b1)"
dt=$(time_to_log "$t0" 'backend=10.10.2.11 port=80 from=[a-z]* to=down')
echo "  backend-1 down after ${dt}s (limit $FALL x ${INTERVAL_MS}ms + 1 s)"
expect stopped_backend_leaves_within_fall_x_interval_plus_1s python3 -c "import sys; sys.exit(not float('$dt') <= $FALL * $INTERVAL_MS / 1000 + 1)"
sleep 0.3
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
echo "  after: $r"
expect no_failed_connection_after_it_left [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-1" not in d["by_backend"]')" = True ]

bg_in_ns b1 "/run/$TOPO/httpd-1.log" python3 "$ROOT/tests/lib/httpd.py" backend-1 80
# The clock starts when the server listens, not when Python was started (a
# loaded machine takes a second or more to bring it up): rise counts checks
# that succeed, and none can before the server is there.
t0=
for _ in $(seq 1 200); do
	if [ "$(grep -c '^listening ' "/run/$TOPO/httpd-1.log")" -ge 2 ]; then
		t0=$(sed -n 's/^listening //p' "/run/$TOPO/httpd-1.log" | tail -1)
		break
	fi
	sleep 0.05
done
[ -n "$t0" ] || fail restarted_server_listens "backend-1's server did not listen again within 10 s"
dt=$(time_to_log "$t0" 'backend=10.10.2.11 port=80 from=down to=up')
echo "  backend-1 up after ${dt}s (rise $RISE x ${INTERVAL_MS}ms)"
expect recovered_backend_returns_after_rise python3 -c "import sys; sys.exit(not float('$dt') <= ($RISE + 1) * $INTERVAL_MS / 1000 + 1)" || { grep "10.10.2.11" "$DAEMON_LOG" | tail -8 | sed "s/^/  log: /"; grep listening "/run/$TOPO/httpd-1.log" | sed "s/^/  httpd: /"; }
sleep 0.3
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 90)
expect recovered_backend_serves_again [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["by_backend"].get("backend-1", 0) > 0')" = True ]

kill "$(server_pid b1)" "$(server_pid b2)"
dt=$(time_to_log "$(now)" 'panic mode: too few healthy backends')
expect panic_mode_when_2_of_3_fail [ "$dt" != 99 ]
# Panic: every backend keeps its slots in the live table (the CLI reads it).
sleep 0.3
slots=$(flb -j backend list "$VIP:80" | json_get 'sorted(b["slots"] > 0 for b in d["backends"])')
echo "  slots held in panic mode: $(flb -j backend list "$VIP:80" | json_get '[(b["address"], b["slots"]) for b in d["backends"]]')"
expect panic_mode_keeps_every_backend_in_table [ "$slots" = "[True, True, True]" ]
