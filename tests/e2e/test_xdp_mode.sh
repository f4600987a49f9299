#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# node.xdp_mode changes, while a client opens new connections without
# pause: a reload native -> skb re-attaches in generic mode, a restart in
# the other mode replaces the attached program (it used to fail with "File
# exists"), both ways, and a reload skb -> native goes back. After each step
# the interface runs the balancer in the configured mode and new
# connections reach every backend. A mode change cannot be atomic (the
# kernel refuses a native and a generic program side by side): the hook is
# empty for a few ms, and a SYN arriving then meets the LB's own stack,
# which has no route to the VIP (it may answer "unreachable": the connect
# fails).
# The stream client opens one connection at a time, so over the 4 mode
# changes at most 4 of its connections may fail. Generic XDP receives
# nothing on a veth unless GRO is on (FIELD-NOTES), so GRO is turned on on
# the LB's eth0. Last, --cleanup detaches an skb-mode attachment (it
# used to detach in native mode only).
# One interface only: the topology has one client-facing link. Covers issue
# 13, problem 6.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbx$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip xdp_mode "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

write_config() { # mode
	{
		echo "interfaces: [eth0]"
		echo "node: {bpffs: $PIN_BASE, xdp_mode: $1}"
		echo "services:"
		echo "  - name: web"
		echo "    vip: $VIP"
		echo "    port: 80"
		echo "    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]"
	} >"$CONFIG.tmp"
	mv "$CONFIG.tmp" "$CONFIG"
}
# The mode the balancer runs in on eth0: native, skb or none.
mode() {
	in_ns lb ip -j link show eth0 | python3 -c '
import json, sys
x = json.load(sys.stdin)[0].get("xdp", {})
print({1: "native", 2: "skb"}.get(x.get("mode"), "none") if x.get("prog", {}).get("name") == "balancer" else "none")'
}
serves() {
	local s
	s=$(in_ns cl timeout 20 python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 40)
	echo "  $1: mode $(mode), $(echo "$s" | json_get 'd["ok"], d["failed"], d["by_backend"]' 2>&1)"
	[ "$(echo "$s" | json_get 'd["ok"] == 40 and len(d["by_backend"]) == 2' 2>&1)" = True ]
}
restart() { # mode
	kill "$DAEMON_PID"
	stop_pid "$DAEMON_PID"
	write_config "$1"
	daemon_start
}

topo_up
in_ns lb ethtool -K eth0 gro on >/dev/null # generic XDP on a veth needs it
write_config native
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
expect starts_native [ "$(mode)" = native ]
in_ns cl python3 "$ROOT/tests/lib/client.py" stream "$VIP" 80 14 >"/run/$TOPO/stream.json" &
STREAM=$!
PIDS+=("$STREAM")

write_config skb
expect reload_to_skb wait_log 'msg="reloaded"' 1
expect reload_to_skb_attaches_skb [ "$(mode)" = skb ]
expect reload_to_skb_serves serves "reloaded native -> skb"

restart native
expect restart_native_over_skb [ "$(mode)" = native ]
expect restart_native_over_skb_serves serves "restarted in native over skb"

restart skb
expect restart_skb_over_native [ "$(mode)" = skb ]
expect restart_skb_over_native_serves serves "restarted in skb over native"

write_config native
expect reload_to_native wait_log 'msg="reloaded"' 2
expect reload_to_native_attaches_native [ "$(mode)" = native ]
expect reload_to_native_serves serves "reloaded skb -> native"

wait "$STREAM"
s=$(cat "/run/$TOPO/stream.json")
echo "  stream: $(echo "$s" | json_get '{k: d[k] for k in ("ok", "failed", "by_backend", "errors")}')"
expect at_most_one_failure_per_mode_change [ "$(echo "$s" | json_get 'd["failed"] <= 4 and d["ok"] > 100')" = True ]
grep -i 'attach\|mode' "$DAEMON_LOG" | sed 's/^/  log: /'

# --cleanup detaches a program attached in skb mode too.
restart skb
kill "$DAEMON_PID"
stop_pid "$DAEMON_PID"
in_ns lb "$BIN/fluxlbd" --cleanup --config "$CONFIG" >/dev/null 2>&1
expect cleanup_detaches_skb [ "$?" = 0 -a "$(mode)" = none ]
