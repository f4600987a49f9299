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
wait_file() { # path seconds
	for _ in $(seq 1 $(($2 * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
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
# The client opens N keep-alive connections, asks each for its backend,
# reports, waits for $CL/close, asks again (the drain must keep them), then
# closes them all normally (FIN: every answer was read, so no RST).
in_ns cl python3 - "$VIP" "$N" "$CL" >"$CL/hold.log" 2>&1 <<'PY' &
import json, os, socket, sys, time
vip, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def ask(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = s.recv(4096)
        if not c:
            raise OSError("closed")
        buf += c
    head, _, body = buf.partition(b"\r\n\r\n")
    length = [int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0]
    while len(body) < length:
        c = s.recv(4096)
        if not c:
            raise OSError("closed")
        body += c
    return body.decode().strip()

def round_(conns):
    names = []
    for s in conns:
        try:
            names.append(ask(s))
        except OSError as e:
            names.append("error: %s" % e)
    return names

conns = [socket.create_connection((vip, 80), timeout=3.0) for _ in range(n)]
with open(d + "/opened.json", "w") as f:
    json.dump(round_(conns), f)
while not os.path.exists(d + "/close"):
    time.sleep(0.05)
again = round_(conns)
for s in conns:
    s.close()
with open(d + "/closed.json", "w") as f:
    json.dump(again, f)
PY
HOLD=$!
PIDS+=("$HOLD")
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

t0=$(now)
touch "$CL/close"
if ! wait_file "$CL/closed.json" 10; then
	fail connections_closed "the client did not finish: $(cat "$CL/hold.log")"
	exit 1
fi
expect connections_kept_backend_while_draining [ "$(json_get "d == ['backend-1'] * $N" <"$CL/closed.json")" = True ]
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
