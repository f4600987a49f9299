#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# table_size: auto never shrinks because a backend went down: 3 backends
# get 509 slots, and a health failure that leaves 2 serving keeps 509 (a
# smaller table would move almost every flow on every LB node without the
# flow's conntrack entry). A daemon restart with the backend down keeps
# the size too: the table in the maps is the floor.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbts$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip table_size "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

topo_up
cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
defaults:
  health_check: {type: http, path: /health, interval: 300ms, timeout: 200ms, rise: 2, fall: 2}
services:
  - name: web
    vip: $VIP
    port: 80
    table_size: auto
    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]
YAML
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
size() { flb -j vip list | json_get '[v["table_size"] for v in d["vips"]][0]'; }
s0=$(size)
echo "  table size with 3 backends: $s0"
expect auto_size_for_3_backends [ "$s0" = 509 ]

n=$(grep -c 'to=down' "$DAEMON_LOG")
kill "$(ip netns pids "$(ns b1)" | head -1)"
wait_log 'to=down' $((n + 1))
wait_log 'table updated.*changed=' 1
sleep 0.2
s1=$(size)
echo "  table size with 1 of 3 down: $s1; $(grep 'table updated' "$DAEMON_LOG" | tail -1 | grep -o 'size=.*')"
expect size_unchanged_when_a_backend_goes_down [ "$s1" = "$s0" ]
slots=$(flb -j backend list "$VIP:80" | json_get 'sum(b["slots"] for b in d["backends"] if b["address"] == "10.10.2.11")')
expect down_backend_has_no_slots [ "$slots" = 0 ]

for sig in TERM KILL; do
	kill -"$sig" "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	n=$(grep -c 'to=down' "$DAEMON_LOG")
	daemon_start || { fail "restart_$sig" "fluxlbd did not become ready"; exit 1; }
	s2=$(size)
	# Until its checks say down again (without persisted health) it serves.
	wait_log 'to=down' $((n + 1)) || true
	sleep 0.3
	s3=$(size)
	echo "  after SIG$sig restart: size $s2, then $s3"
	expect "size_unchanged_across_sig${sig,,}_restart" [ "$s2/$s3" = "$s0/$s0" ]
done

# A backend leaves the configuration: still 509, and after a restart too
# (the table in the maps is the floor of the new one).
sed -i 's/, {address: 10.10.2.13}//' "$CONFIG"
n=$(grep -c 'msg="reloaded"' "$DAEMON_LOG")
kill -HUP "$DAEMON_PID"
wait_log 'msg="reloaded"' $((n + 1))
s4=$(size)
# One backend left serving holds all 509 slots: `vip list` counts it once
# (its per-id counter once wrapped at 256 slots and counted it twice).
nb=$(flb -j vip list | json_get '[v["backends"] for v in d["vips"]][0]')
held=$(flb -j backend list "$VIP:80" | json_get 'sum(1 for b in d["backends"] if b["slots"] > 0)')
echo "  vip list backends: $nb, backends holding slots: $held"
expect vip_list_counts_a_backend_with_over_255_slots_once [ "$nb" = "$held" ]
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
daemon_start || { fail restart_after_removal "fluxlbd did not become ready"; exit 1; }
s5=$(size)
echo "  2 backends configured (one down): size $s4, after a restart $s5"
expect size_unchanged_when_backends_leave_and_after_restart [ "$s4/$s5" = "$s0/$s0" ]
