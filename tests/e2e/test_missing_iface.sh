#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# An interface the configuration names does not exist at start (a NIC that
# appears late, a node still booting): fluxlbd must not exit (in a pod that
# is a CrashLoopBackOff) but stay up, not ready (/ready 503), say why once,
# and attach and become ready when the interface appears.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbmi$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip missing_iface "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

topo_up
cat >"$CONFIG" <<YAML
interfaces: [eth0, late0]
node: {bpffs: $PIN_BASE}
metrics: {listen: "127.0.0.1:9464"}
services:
  - name: web
    vip: $VIP
    port: 80
    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]
YAML
backends_wait
bg_in_ns lb "$DAEMON_LOG" "$BIN/fluxlbd" --config "$CONFIG"
DAEMON_PID=${PIDS[-1]}
ready_code() { in_ns lb curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:9464/ready; }
for _ in $(seq 1 50); do
	grep -q 'interface missing' "$DAEMON_LOG" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || break
	sleep 0.1
done
sleep 0.5
expect daemon_stays_up kill -0 "$DAEMON_PID"
expect missing_interface_logged grep -q 'level=warn msg="interface missing; not ready, retrying until it appears" iface=late0' "$DAEMON_LOG"
expect not_ready_meanwhile [ "$(ready_code)" = 503 ]
expect logged_once [ "$(grep -c 'interface missing' "$DAEMON_LOG")" = 1 ]

ip -n "$(ns lb)" link add late0 type veth peer name late1
ip -n "$(ns lb)" link set late0 up
ip -n "$(ns lb)" link set late1 up
for _ in $(seq 1 30); do
	grep -q 'msg="ready"' "$DAEMON_LOG" && break
	sleep 0.1
done
expect ready_once_it_appears grep -q 'msg="ready"' "$DAEMON_LOG"
expect ready_endpoint_200 [ "$(ready_code)" = 200 ]
expect attached_to_late0 [ -n "$(ip -n "$(ns lb)" -j link show late0 | json_get 'd[0].get("xdp", {}).get("prog", {}).get("id", "")')" ]
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 40)
expect traffic_flows [ "$(echo "$r" | json_get 'd["ok"] == 40')" = True ]
