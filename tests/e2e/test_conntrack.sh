#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Conntrack and the end of a connection, with real TCP: 100 keep-alive
# connections to a backend that is then removed (drain_timeout 60 s) keep
# their backend while it drains; once the client closes them (FIN), their
# entries age out within the close grace (10 s) and the drain ends long
# before its timeout, logged as `backend drained` with flows=0. Counters
# mean what their names say: a new UDP flow counts udp_new_flow, not
# ct_miss; a TCP non-SYN packet without an entry counts ct_miss.
#
# 100 connections: the number the issue measured; one client process
# holds them all (no connection is opened or closed while the drain runs).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbct$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip conntrack "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
N=100
GRACE_S=10   # FLB_CT_CLOSE_GRACE_S
DRAIN_S=60
CL=/run/$TOPO

# write_config ADDR : the web service's one backend (atomically: rename).
write_config() {
	cat >"$CONFIG.tmp" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
defaults: {drain_timeout: ${DRAIN_S}s}
services:
  - {name: web, vip: $VIP, port: 80, backends: [{address: $1}]}
  - {name: dns, vip: $VIP, port: 53, protocol: udp, backends: [{address: 10.10.2.12}]}
  - {name: probe, vip: $VIP, port: 81, backends: [{address: 10.10.2.12}]}
YAML
	mv "$CONFIG.tmp" "$CONFIG"
}
now() { date +%s.%N; }
event() { flb -j stats | json_get "d['events'].get('$1', 0)"; }

topo_up
write_config 10.10.2.11
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

# --- Counters: UDP new flows are not TCP misses -----------------------------
miss0=$(event ct_miss)
udp0=$(event udp_new_flow)
in_ns cl python3 - "$VIP" <<'PY'
import socket, sys
for _ in range(3):  # three source ports: three new UDP flows
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"q", (sys.argv[1], 53))
    s.close()
PY
miss1=$(event ct_miss)
udp1=$(event udp_new_flow)
echo "  3 new UDP flows: ct_miss +$((miss1 - miss0)), udp_new_flow +$((udp1 - udp0))"
expect new_udp_flows_count_udp_new_flow [ $((udp1 - udp0)) = 3 ]
expect new_udp_flows_are_no_ct_miss [ $((miss1 - miss0)) = 0 ]
# A bare ACK of no connection (raw socket; its checksum is left 0, so the
# backend drops it quietly): the packet that predicts a reset. To the probe
# port, whose backend is not the one that drains below.
in_ns cl python3 - "$VIP" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.sendto(struct.pack("!HHIIBBHHH", 40999, 81, 1, 1, 5 << 4, 0x10, 1024, 0, 0), (sys.argv[1], 0))
PY
miss2=$(event ct_miss)
echo "  TCP ACK without entry: ct_miss +$((miss2 - miss1))"
expect tcp_ack_without_entry_counts_ct_miss [ $((miss2 - miss1)) = 1 ]

# --- Drain ends when the connections have closed ----------------------------
# The client holds N keep-alive connections (tests/lib/e2e.sh): asked once
# before the drain, once during it, then closed normally (FIN).
hold_connections "$VIP" "$N" "$CL"
if ! wait_file "$CL/opened.json" 20; then
	fail connections_opened "the client did not open $N connections: $(cat "$CL/hold.log")"
	exit 1
fi
expect all_connections_on_backend_1 [ "$(json_get "d == ['backend-1'] * $N" <"$CL/opened.json")" = True ]

write_config 10.10.2.12
expect removed_backend_drains wait_log 'backend draining' 1 10
flows=$(flb -j backend list "$VIP:80" | json_get "[b['flows'] for b in d['backends'] if b['address'] == '10.10.2.11']")
echo "  draining backend's live flows: $flows"
expect open_connections_count_as_live_flows [ "$flows" = "[$N]" ]

touch "$CL/check"
if ! wait_file "$CL/checked.json" 10; then
	fail connections_checked "the client did not finish: $(cat "$CL/hold.log")"
	exit 1
fi
expect connections_kept_backend_while_draining [ "$(json_get "d == ['backend-1'] * $N" <"$CL/checked.json")" = True ]
t0=$(now)
touch "$CL/close"
if ! wait_file "$CL/closed" 10; then
	fail connections_closed "the client did not close: $(cat "$CL/hold.log")"
	exit 1
fi
sleep 1
flow_states=$(flb -j flow list --backend 10.10.2.11 --limit 0 | json_get "sorted(set(e['state'] for e in d['flows'] if e['proto'] == 'tcp'))")
echo "  states of the closed connections' entries: $flow_states"
expect closed_connections_entries_are_closing [ "$flow_states" = "['closing']" ]
# Closed connections stop counting once their grace is over: the drain
# ends within grace + 1 s (last_seen's resolution) + 1 s (drain tick),
# plus 3 s of margin, far from the 60 s timeout.
LIMIT=$((GRACE_S + 5))
if wait_log 'backend drained' 1 $((LIMIT + 5)); then
	dt=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$t0" "$(now)")
else
	dt=never
fi
[ "$dt" = never ] || dt=${dt}s
line=$(grep -E 'backend drained|drain timed out' "$DAEMON_LOG" | head -1)
echo "  drain ended ${dt} after the close (limit ${LIMIT}s): ${line:-nothing logged}"
expect drain_ends_within_grace_after_close python3 -c "import sys; sys.exit(not ('$dt' != 'never' and float('$dt'.rstrip('s')) <= $LIMIT))"
expect drained_log_says_no_flow_left grep -q 'backend drained.*id=[0-9]* flows=0 ' "$DAEMON_LOG"
