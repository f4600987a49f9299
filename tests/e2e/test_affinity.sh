#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Session affinity (docs/affinity.md) with real TCP and native XDP: 20
# client addresses open 200 connections each to a VIP with affinity:
# source_ip; every client's 200 land on one backend (and the clients spread
# over the backends). After a daemon restart (the pinned flb_affinity
# survives) every client is still on its backend. When one backend leaves
# the configuration, only its clients move (each again to one backend); the
# others stay where they were.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbaf$$
NBACKENDS=3
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip affinity "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
CLIENTS=20
PER=200

write_config() { # backends...
	local list="" b
	for b in "$@"; do list="$list{address: $b}, "; done
	cat >"$CONFIG.tmp" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
defaults: {drain_timeout: 0s}
services:
  - name: web
    vip: $VIP
    port: 80
    affinity: source_ip
    affinity_timeout: 10m
    backends: [${list%, }]
YAML
	mv "$CONFIG.tmp" "$CONFIG"
}

# round: PER connections from each client address (in parallel per
# client); prints {"10.10.1.100": {"backend-1": 200}, ...}.
round() {
	in_ns cl python3 - "$VIP" "$CLIENTS" "$PER" <<'PY'
import json, socket, sys, threading
vip, clients, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {}

def get(src):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.bind((src, 0))
        s.connect((vip, 80))
        s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            c = s.recv(4096)
            if not c:
                break
            data += c
        return data.partition(b"\r\n\r\n")[2].decode().strip() or "empty"
    except OSError as e:
        return "error"
    finally:
        s.close()

def client(src):
    got = {}
    for _ in range(per):
        b = get(src)
        got[b] = got.get(b, 0) + 1
    out[src] = got

ts = [threading.Thread(target=client, args=("10.10.1.%d" % (100 + i),)) for i in range(clients)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(out))
PY
}
# one_each JSON: every client's PER connections answered by one backend.
one_each() { echo "$1" | json_get "all(len(v) == 1 and list(v.values())[0] == $PER and not list(v)[0].startswith(('error', 'empty')) for v in d.values()) and len(d) == $CLIENTS"; }
# placement JSON: {client: its (first) backend}.
placement() { echo "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: sorted(v)[0] for k, v in d.items()}, sort_keys=True))'; }

topo_up
for i in $(seq 0 $((CLIENTS - 1))); do ip -n "$(ns cl)" addr add "10.10.1.$((100 + i))/24" dev c0; done
write_config 10.10.2.11 10.10.2.12 10.10.2.13
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

r1=$(round)
p1=$(placement "$r1")
echo "  placement: $p1"
expect each_client_on_one_backend [ "$(one_each "$r1")" = True ]
expect clients_spread_over_backends [ "$(echo "$p1" | json_get 'len(set(d.values()))')" -ge 2 ]
hits=$(flb -j stats | json_get "d['events'].get('affinity_hit', 0)")
echo "  affinity_hit events: $hits"
expect affinity_hits_counted [ "$hits" -ge $((CLIENTS * (PER - 1))) ]

# A restart: the daemon goes, the pinned maps stay; the new one adopts them.
kill "$DAEMON_PID"
stop_pid "$DAEMON_PID"
daemon_start || { fail daemon_restarted "fluxlbd did not become ready again"; exit 1; }
r2=$(round)
p2=$(placement "$r2")
expect each_client_on_one_backend_after_restart [ "$(one_each "$r2")" = True ]
expect placement_survives_restart [ "$p2" = "$p1" ]

# The backend of the first client leaves: its clients move, the rest stay.
gone=$(echo "$p1" | json_get 'd["10.10.1.100"]')
n=${gone#backend-}
keep=()
for i in 1 2 3; do [ "$i" = "$n" ] || keep+=("10.10.2.1$i"); done
r0=$(grep -c 'msg="reloaded"' "$DAEMON_LOG")
write_config "${keep[@]}"
wait_log 'msg="reloaded"' $((r0 + 1)) 10 || { fail reloaded "no reload after removing $gone"; exit 1; }
r3=$(round)
p3=$(placement "$r3")
echo "  $gone removed: $p3"
expect each_client_on_one_backend_after_removal [ "$(one_each "$r3")" = True ]
moved_ok=$(python3 -c '
import json, sys
a, b, gone = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(all((b[k] != gone) if a[k] == gone else (b[k] == a[k]) for k in a))' "$p1" "$p3" "$gone")
expect only_clients_of_the_removed_backend_moved [ "$moved_ok" = True ]
