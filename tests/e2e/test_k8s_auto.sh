#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Services served without naming them in the file: fluxlbd with
# `services: []` and the kubernetes source, against
# tests/k8s/fake_apiserver.py, in the demo topology (native XDP on veths,
# backends with decap and the VIPs on lo, servers on port 80):
#  - shop/web (fixture, VIP 10.100.0.1 by annotation) is served as
#    "shop/web:http" with its three endpoints: real connections answered by
#    all three, the metrics name the service;
#  - shop/api, created later with VIP 10.100.0.2, is served without
#    touching the file, by the endpoints of its own EndpointSlice;
#  - shop/api deleted: its VIP is removed (logged) and answers no more,
#    while shop/web keeps serving;
#  - a file entry naming shop/web with a vip that is not the Service's is
#    refused (logged, fluxlb_k8s_vip_mismatch_total) and shop/web keeps
#    serving as before; the right vip (or none) makes the entry's settings
#    apply under its own name.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flka$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip k8s_auto "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

topo_up
DIR=/run/$TOPO
API=http://127.0.0.1:16444
MPORT=19743
VIP2=10.100.0.2
echo "t0k3n-$$" >"$DIR/token"
k8s_api_start 16444 "$ROOT/tests/k8s/fixtures/web.json" ||
	{ fail api_server "fake_apiserver.py did not start: $(cat "$DIR/apiserver.log")"; exit 1; }
ctl() { in_ns lb curl -sf -X POST "$API/_control/$1" -d "$2" >/dev/null; }
# Backends hold the second VIP too (direct server return).
for i in $(seq 1 "$NBACKENDS"); do ip -n "$(ns "b$i")" addr add "$VIP2/32" dev lo; done

write_config() {
	cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
metrics: {listen: "127.0.0.1:$MPORT"}
source:
  type: kubernetes
  api_server: $API
  token_file: $DIR/token
  namespace: shop
  write_status: false
defaults: {drain_timeout: 60s}
services: [$1]
YAML
}
write_config ""
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
pass daemon_ready_with_no_services_in_the_file

spread() { in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$1" 80 "$2"; }
mark() { wc -l <"$DAEMON_LOG"; }
wait_after() { for _ in $(seq 1 100); do tail -n +"$(($1 + 1))" "$DAEMON_LOG" | grep -q "$2" && return 0; sleep 0.1; done; return 1; }
scrape() { in_ns lb curl -sf "http://127.0.0.1:$MPORT/metrics"; }
# Not `scrape | grep -q`: under pipefail, grep -q leaving at the first match
# can fail the pipe (curl gets SIGPIPE with the rest of the page unwritten).
scrape_has() { local page; page=$(scrape) && grep -q -- "$1" <<<"$page"; }

r=$(spread "$VIP" 60)
echo "  $r"
expect discovered_service_serves_traffic [ "$(echo "$r" | json_get 'd["ok"] == 60 and len(d["by_backend"]) == 3')" = True ]
# The exporter publishes the status on the daemon's next tick: wait up to
# 15 s (the machine is shared; once seen slower than 5 s).
for _ in $(seq 1 150); do scrape_has 'fluxlb_vip_table_size{vip_service="shop/web:http"' && break; sleep 0.1; done
expect metrics_name_the_service scrape_has 'fluxlb_vip_table_size{vip_service="shop/web:http"'
scrape_has 'fluxlb_vip_table_size{vip_service="shop/web:http"' || scrape | grep '^fluxlb_vip_table_size' | sed 's/^/  seen: /'

# A second Service, added later: served without touching the file.
m=$(mark)
ctl apply '{"object": {"apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "api", "namespace": "shop", "annotations": {"fluxlb.io/vip": "'$VIP2'"}},
  "spec": {"type": "LoadBalancer", "loadBalancerClass": "fluxlb.io/l4", "selector": {"app": "api"},
           "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}]}}}'
ctl apply '{"object": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
  "metadata": {"name": "api-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "api"}},
  "addressType": "IPv4", "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
  "endpoints": [{"addresses": ["10.10.2.11"], "conditions": {"ready": true}},
                {"addresses": ["10.10.2.13"], "conditions": {"ready": true}}]}}'
expect second_service_discovered wait_after "$m" 'discovered services changed.*services=2'
for _ in $(seq 1 50); do [ "$(tail -n +"$((m + 1))" "$DAEMON_LOG" | grep -c 'msg="table updated"')" -ge 1 ] && break; sleep 0.1; done
r=$(spread "$VIP2" 60)
echo "  $r"
expect second_service_serves_its_endpoints [ "$(echo "$r" | json_get 'd["ok"] == 60 and sorted(d["by_backend"]) == ["backend-1", "backend-3"]')" = True ]
expect file_untouched grep -q '^services: \[\]$' "$CONFIG"

# Deleted: its VIP leaves like a deregistered service; shop/web stays.
m=$(mark)
ctl delete '{"kind": "Service", "namespace": "shop", "name": "api"}'
expect removed_service_vip_removed wait_after "$m" 'VIP removed'
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP2" 80 5)
echo "  $r"
expect removed_service_answers_no_more [ "$(echo "$r" | json_get 'd["ok"] == 0')" = True ]
r=$(spread "$VIP" 30)
expect other_service_keeps_serving [ "$(echo "$r" | json_get 'd["ok"] == 30 and len(d["by_backend"]) == 3')" = True ]

# A file entry with the wrong vip: refused, counted, the Service keeps
# serving as it did.
m=$(mark)
write_config '{name: web, vip: 10.100.0.9, port: 80, source_service: "shop/web:http", table_size: 251}'
kill -HUP "$DAEMON_PID"
expect wrong_vip_refused_and_logged wait_after "$m" "file entry's vip is not its Service's VIP.*service_vip=$VIP"
sleep 0.5
expect wrong_vip_counted [ "$(scrape | awk '$1 == "fluxlb_k8s_vip_mismatch_total" {print $2}')" -ge 1 ]
r=$(spread "$VIP" 30)
expect wrong_vip_keeps_last_good_state [ "$(echo "$r" | json_get 'd["ok"] == 30 and len(d["by_backend"]) == 3')" = True ]
expect wrong_vip_not_served [ -z "$(scrape | grep 'service="web"')" ]

# The right vip: the entry's settings apply under its name.
m=$(mark)
write_config "{name: web, vip: $VIP, port: 80, source_service: \"shop/web:http\", table_size: 251}"
kill -HUP "$DAEMON_PID"
for _ in $(seq 1 50); do scrape_has 'fluxlb_vip_table_size{vip_service="web".*} 251' && break; sleep 0.1; done
expect override_applies_under_its_name scrape_has 'fluxlb_vip_table_size{vip_service="web".*} 251'
r=$(spread "$VIP" 30)
expect override_serves [ "$(echo "$r" | json_get 'd["ok"] == 30 and len(d["by_backend"]) == 3')" = True ]
