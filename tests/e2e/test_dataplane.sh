#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# IPv6 VIPs with IPv6 backends over IP6IP6, and path MTU discovery through
# the balancer: the links to the backends have a smaller MTU (1400) than
# the client's (1500), so a large request only completes if the client
# learns the smaller MTU from our ICMP "fragmentation needed" / ICMPv6
# "packet too big" replies.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbp$$
LINK_MTU=1400
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip dataplane "needs root (netns, XDP)"
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

out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP6" 80 150)
echo "  $out"
ok=$(echo "$out" | json_get 'd["ok"] == 150 and len(d["by_backend"]) == 3')
expect ipv6_http_through_ip6ip6_all_answered_all_backends [ "$ok" = True ]

before=$(flb -j stats | json_get 'd["reasons"]["tx_icmp_too_big"]')
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" big "$VIP" 80 200000)
echo "  IPv4 large request: $r"
expect ipv4_large_request_completes_through_smaller_mtu [ "$(echo "$r" | json_get 'd["received"]')" = 200000 ]
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" big "$VIP6" 80 200000)
echo "  IPv6 large request: $r"
expect ipv6_large_request_completes_through_smaller_mtu [ "$(echo "$r" | json_get 'd["received"]')" = 200000 ]
after=$(flb -j stats | json_get 'd["reasons"]["tx_icmp_too_big"]')
echo "  tx_icmp_too_big: $before -> $after"
expect our_icmp_too_big_replies_did_it [ "$after" -ge $((before + 2)) ]
expect client_learned_pmtu_v4 in_ns cl sh -c "ip route get $VIP | grep -q 'mtu 1380'"
expect client_learned_pmtu_v6 in_ns cl sh -c "ip -6 route get $VIP6 | grep -q 'mtu 1360'"
