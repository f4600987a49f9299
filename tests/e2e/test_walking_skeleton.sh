#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The demo topology with real XDP in native mode on veth and real HTTP
# backends: every request answered, spread over all backends, one 5-tuple
# always on one backend, and nothing left behind afterwards.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbt$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip http_through_vip "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

topo_up
topo_config
backends_wait
if ! daemon_start; then
	fail daemon_ready "fluxlbd did not become ready"
	exit 1
fi
pass daemon_ready

expect balancer_attached_native in_ns lb sh -c "ip -d link show eth0 | grep -q 'prog/xdp .*name balancer'"

out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 300)
echo "  $out"
ok=$(echo "$out" | json_get 'd["ok"]')
if [ "$ok" = 300 ]; then pass all_300_requests_answered; else fail all_300_requests_answered "$out"; fi
spread_ok=$(echo "$out" | json_get 'len(d["by_backend"]) == 3 and all(60 <= n <= 141 for n in d["by_backend"].values())')
if [ "$spread_ok" = True ]; then pass every_backend_between_20_and_47_percent; else fail every_backend_between_20_and_47_percent "$out"; fi

# Same 5-tuple, five separate connections: one backend every time.
sticky=True
for sport in 41001 41002 41003 41004 41005; do
	r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" tuple "$VIP" 80 "$sport" 5)
	same=$(echo "$r" | json_get 'len(set(d["backends"])) == 1 and None not in d["backends"]')
	[ "$same" = True ] || { sticky=False; echo "  sport $sport: $r"; }
done
if [ "$sticky" = True ]; then pass same_5tuple_same_backend; else fail same_5tuple_same_backend "see above"; fi

# The counters agree with what was sent: 300 + 25 new flows at the VIP.
stats=$(flb -j stats)
flows=$(echo "$stats" | json_get '[v["new_flows"] for v in d["vips"] if v["vip"] == "10.100.0.1:80/tcp"][0]')
if [ "$flows" -ge 325 ]; then pass vip_counts_new_flows; else fail vip_counts_new_flows "new_flows=$flows"; fi
be_sum=$(echo "$stats" | json_get 'sum(b["new_flows"] for b in d["backends"] if ":" not in b["backend"])')
expect backend_new_flows_sum_to_vip [ "$be_sum" = "$flows" ]

# SIGTERM leaves the dataplane forwarding; a new daemon adopts the maps.
kill "$DAEMON_PID"
stop_pid "$DAEMON_PID"
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 30)
expect forwards_while_daemon_is_down [ "$(echo "$r" | json_get 'd["ok"]')" = 30 ]
if daemon_start; then
	r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 30)
	expect forwards_after_restart [ "$(echo "$r" | json_get 'd["ok"]')" = 30 ]
	grep -q 'replaced attached XDP program' "$DAEMON_LOG"
	expect restart_replaces_program_in_place [ $? = 0 ]
else
	fail forwards_after_restart "daemon did not restart"
fi

topo_down
trap - EXIT
left=$(ip netns list | grep -c "^$TOPO-" || true)
expect no_namespace_left [ "$left" = 0 ]
expect no_pin_or_mount_left [ ! -e "/run/$TOPO" ]
expect no_process_left sh -c "! pgrep -f '[/]run/$TOPO/' >/dev/null"
