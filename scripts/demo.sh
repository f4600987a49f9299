#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make demo`: a client, a load-balancer node and three backends in network
# namespaces; fluxlbd attaches the XDP balancer on the LB, 300 HTTP requests
# go to the VIP, and the demo prints who answered and the daemon's counters.
# Everything it creates is removed on exit, Ctrl-C or failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOPO=flbdemo$$
source "$ROOT/scripts/topo.sh"
trap topo_down EXIT
trap 'exit 130' INT TERM

echo "== building the topology (namespaces $TOPO-*)"
topo_up
topo_config
backends_wait
echo "== fluxlbd configuration ($CONFIG)"
sed 's/^/   /' "$CONFIG"
echo "== starting fluxlbd in $TOPO-lb"
daemon_start
sed 's/^/   /' "$DAEMON_LOG"
echo "== 300 HTTP requests from the client to http://$VIP/"
in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 300 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("   answered: %d, failed: %d" % (r["ok"], r["failed"]))
for name, n in sorted(r["by_backend"].items()):
    print("   %-10s %4d  %s" % (name, n, "#" * (n // 4)))
'
echo "== 90 HTTP requests to the IPv6 VIP http://[$VIP6]/ (IP6IP6 to IPv6 backends)"
in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP6" 80 90 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("   answered: %d, failed: %d, by backend: %s" % (r["ok"], r["failed"],
      ", ".join("%s %d" % kv for kv in sorted(r["by_backend"].items()))))
'
echo "== fluxlb vip list and backend list (the CLI reads the pinned maps)"
flb vip list | sed 's/^/   /'
flb backend list | sed 's/^/   /'
echo "== fluxlb stats (the balancer's counters, read from the pinned maps)"
flb stats | sed 's/^/   /'
echo "== decap counters on backend-1"
in_ns b1 "$BIN/fluxlb" decap stats eth0 | sed 's/^/   /'
echo "== done; removing the topology"
