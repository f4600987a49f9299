#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# fluxlbd's kubernetes source against tests/k8s/fake_apiserver.py (no real
# API server can be installed here), in the demo topology: a Service of
# type LoadBalancer whose EndpointSlice lists the backends 10.10.2.11-13 on
# port 80 serves real traffic; a terminating-but-serving endpoint drains with its
# held connections intact; a removed endpoint drains; a not-ready one
# leaves; one on another port than the Service's is a backend at that port; 401, 410 (as an ERROR event and as an HTTP status), a dropped
# watch and an outage of the API server keep the last tables serving, are
# logged and show in fluxlb_source_up, and a change after each applies.
# Every object the fake server served validates against kubernetes-models.
# A stalled watch delays changes without losing them. Not covered here: the
# source giving up on a stalled watch (after 45 s; too slow for this tier),
# TLS and a kubeconfig (unit tests parse them).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbk$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip kubernetes "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

topo_up
DIR=/run/$TOPO
API=http://127.0.0.1:16443
MPORT=19742
echo "t0k3n-$$" >"$DIR/token"
start_api() { k8s_api_start 16443 "$ROOT/tests/k8s/fixtures/web.json"; }
ctl() { local body=${2:-'{}'}; in_ns lb curl -sf -X POST "$API/_control/$1" -d "$body" >/dev/null; }
stats() { in_ns lb curl -sf "$API/_control/stats"; }
# slice "11:ready 12:terminating 13:out": the EndpointSlice of shop/web.
slice() {
	python3 - "$@" <<'PY' | { read -r obj; ctl apply "{\"object\": $obj}"; }
import json, sys
conds = {"ready": (True, True, False), "terminating": (False, True, True),
         "out": (False, False, False), "gone": (False, False, True)}
eps = []
for spec in sys.argv[1].split():
    host, state = spec.split(":")
    r, s, t = conds[state]
    eps.append({"addresses": ["10.10.2.%s" % host], "conditions": {"ready": r, "serving": s, "terminating": t},
                "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-%s" % host[-1]}})
print(json.dumps({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
    "metadata": {"name": "web-7x2kq", "namespace": "shop",
                 "labels": {"kubernetes.io/service-name": "web",
                            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
    "addressType": "IPv4", "ports": [{"name": "http", "protocol": "TCP", "port": 80}], "endpoints": eps}))
PY
}
start_api || { fail api_server "fake_apiserver.py did not start: $(cat "$DIR/apiserver.log")"; exit 1; }

cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
metrics: {listen: "127.0.0.1:$MPORT"}
source:
  type: kubernetes
  api_server: $API
  token_file: $DIR/token
  namespace: shop
defaults: {drain_timeout: 60s}
services:
  - {name: web, vip: $VIP, port: 80, source_service: "shop/web:http"}
YAML
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
pass daemon_ready_from_kubernetes

spread() { in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 "$1"; }
mark() { wc -l <"$DAEMON_LOG"; }
# wait_after MARK PATTERN: the daemon logs it after line MARK within 10 s
# (a retry backs off up to 8 s).
wait_after() { for _ in $(seq 1 100); do tail -n +"$(($1 + 1))" "$DAEMON_LOG" | grep -q "$2" && return 0; sleep 0.1; done; return 1; }
table_after() { wait_after "$1" 'msg="table updated"'; }
source_up() { in_ns lb curl -sf "http://127.0.0.1:$MPORT/metrics" | awk '$1 == "fluxlb_source_up" {print $2}'; }

r=$(spread 90)
echo "  $r"
expect endpoints_serve_traffic [ "$(echo "$r" | json_get 'd["ok"] == 90 and len(d["by_backend"]) == 3')" = True ]

# Terminating but serving: drains, and the connections it holds survive.
in_ns cl python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 12 6 >"$DIR/hold.json" &
HOLD=$!
sleep 1
m=$(mark)
slice "11:ready 12:terminating 13:ready"
expect terminating_serving_drains wait_after "$m" 'backend draining'
r=$(spread 60)
expect terminating_gets_no_new_flows [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-2" not in d["by_backend"]')" = True ]
wait "$HOLD"
echo "  held: $(json_get '[(c["backend"], c["ok"], c["failed"]) for c in d["connections"]]' <"$DIR/hold.json")"
expect held_connections_survive_terminating [ "$(json_get 'all(c["failed"] == 0 and c["ok"] > 0 for c in d["connections"]) and any(c["backend"] == "backend-2" for c in d["connections"])' <"$DIR/hold.json")" = True ]

# Removed from the slice: drains.
m=$(mark)
slice "11:ready 12:ready"
expect removed_endpoint_drains wait_after "$m" 'backend draining'
r=$(spread 60)
expect removed_gets_no_new_flows [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-3" not in d["by_backend"] and "backend-2" in d["by_backend"]')" = True ]

# Not ready (not serving): out of the table.
m=$(mark)
slice "11:out 12:ready 13:ready"
table_after "$m"
r=$(spread 60)
expect not_ready_is_out [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-1" not in d["by_backend"] and len(d["by_backend"]) == 2')" = True ]

m=$(mark)
slice "11:ready 12:ready 13:ready"
table_after "$m"
r=$(spread 60)
expect all_ready_again [ "$(echo "$r" | json_get 'd["failed"] == 0 and len(d["by_backend"]) == 3')" = True ]

# An endpoint whose port is not the Service port (targetPort 8080) is a
# backend at that port now (port translation happens on the pod's node,
# docs/pods.md; this topology has no node role, so no traffic is sent to
# it): the applied state counts it, and deleting its slice drains it.
m=$(mark)
ctl apply '{"object": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
  "metadata": {"name": "web-8080", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
  "addressType": "IPv4", "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
  "endpoints": [{"addresses": ["10.10.2.14"], "conditions": {"ready": true}}]}}'
expect other_target_port_is_a_backend wait_after "$m" 'msg="state applied".* backends=4 '
m=$(mark)
ctl delete '{"kind": "EndpointSlice", "namespace": "shop", "name": "web-8080"}'
expect other_target_port_slice_deleted_drains wait_after "$m" 'backend draining'
r=$(spread 30)
expect other_target_port_gone_three_serve [ "$(echo "$r" | json_get 'd["failed"] == 0 and len(d["by_backend"]) == 3')" = True ]

# $1: what; $2: how to break it; $3: how to mend it; $4: the pattern logged.
fault() {
	local what=$1 m r
	m=$(mark)
	eval "$2"
	expect "${what}_is_logged" wait_after "$m" "$4"
	expect "${what}_source_down_in_metrics" [ "$(source_up)" = 0 ]
	r=$(spread 40)
	expect "${what}_keeps_serving" [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["ok"] == 40 and len(d["by_backend"]) == 3')" = True ]
	m=$(mark)
	eval "$3"
	expect "${what}_recovery_is_logged" wait_after "$m" 'registry reachable'
	m=$(mark)
	slice "11:ready 12:ready"
	expect "${what}_change_after_recovery_applies" wait_after "$m" 'backend draining'
	m=$(mark)
	slice "11:ready 12:ready 13:ready"
	table_after "$m"
}
fault unauthorized "ctl deny '{\"code\": 401}'" "ctl deny '{\"code\": 0}'" 'kubernetes API request failed.*HTTP 401'
fault forbidden "ctl deny '{\"code\": 403}'" "ctl deny '{\"code\": 0}'" 'kubernetes API request failed.*HTTP 403'
fault outage "kill $API_PID; stop_pid $API_PID" "start_api" 'registry unreachable; the last tables keep serving'

# 410 Gone, as an ERROR event in the stream and as the HTTP status of a
# watch: the source lists again and keeps serving; changes apply after.
for mode in event status; do
	m=$(mark)
	ctl gone "{\"mode\": \"$mode\"}"
	ctl expire
	expect "gone_as_${mode}_lists_again" wait_after "$m" 'resourceVersion expired (410 Gone); listing again'
	r=$(spread 40)
	expect "gone_as_${mode}_keeps_serving" [ "$(echo "$r" | json_get 'd["failed"] == 0 and len(d["by_backend"]) == 3')" = True ]
	m=$(mark)
	slice "11:ready 13:ready"
	expect "gone_as_${mode}_change_applies" wait_after "$m" 'backend draining'
	m=$(mark)
	slice "11:ready 12:ready 13:ready"
	table_after "$m"
done
echo "  api server: $(stats)"
expect gone_counted_by_server [ "$(stats | json_get 'd.get("gone_services", 0) >= 2 and d.get("gone_endpointslices", 0) >= 2')" = True ]

# A dropped watch: reconnects from its resourceVersion, no list needed.
before=$(stats | json_get 'd.get("watch_endpointslices", 0)')
lists=$(stats | json_get 'd.get("list_endpointslices", 0)')
m=$(mark)
ctl drop
slice "11:ready 12:ready"
expect dropped_watch_change_applies wait_after "$m" 'backend draining'
expect dropped_watch_reconnects [ "$(stats | json_get "d.get('watch_endpointslices', 0) > $before and d.get('list_endpointslices', 0) == $lists")" = True ]

# A slow (stalled) watch: nothing arrives meanwhile and the tables keep
# serving; what changed arrives when the stream moves again.
m=$(mark)
ctl stall '{"on": true}'
slice "11:ready 12:ready 13:ready"
sleep 2
expect stalled_watch_applies_nothing_meanwhile [ -z "$(tail -n +"$((m + 1))" "$DAEMON_LOG" | grep 'msg="table updated"')" ]
r=$(spread 30)
expect stalled_watch_keeps_serving [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["ok"] == 30')" = True ]
ctl stall '{"on": false}'
expect stalled_watch_change_arrives_after table_after "$m"

# The objects served, and the example Service in deploy/, validate against
# the Kubernetes schemas.
MODS=$ROOT/tests/manifests
EXAMPLE=$ROOT/deploy/daemonset/examples/kubernetes-source/web-service.yaml
if command -v node >/dev/null && [ -d "$MODS/node_modules/kubernetes-models" ]; then
	in_ns lb curl -sf "$API/_control/objects" >"$DIR/objects.json"
	if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
		/usr/bin/python3 "$MODS/check_k8s.py" json "$EXAMPLE" >"$DIR/example.json" &&
			python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); json.dump(a+b, open(sys.argv[1], "w"))' \
				"$DIR/objects.json" "$DIR/example.json"
		# The same Service but for targetPort: the example's pods listen on
		# 8080 (the node role translates, test_k8s_node and
		# test_pods_same_nic); this fixture's endpoints are plain hosts on 80.
		expect example_service_in_deploy_is_served_by_the_source python3 -c '
import json, sys
def spec(o):
    s = dict(o["spec"])
    s["ports"] = [{k: v for k, v in p.items() if k != "targetPort"} for p in s["ports"]]
    return s
ex = [o["doc"] for o in json.load(open(sys.argv[1]))][0]
fx = json.load(open(sys.argv[2]))[0]
sys.exit(not (spec(ex) == spec(fx) and ex["metadata"]["annotations"] == fx["metadata"]["annotations"]))' "$DIR/example.json" "$ROOT/tests/k8s/fixtures/web.json"
	fi
	out=$(cd "$MODS" && node check_schema.mjs <"$DIR/objects.json" 2>&1)
	rc=$?
	echo "  $(echo "$out" | tail -1)"
	expect served_objects_validate_against_kubernetes_models [ "$rc" = 0 ]
	[ "$rc" = 0 ] || echo "$out" | head -20
else
	skip served_objects_validate_against_kubernetes_models "node or tests/manifests/node_modules missing (scripts/install-deps.sh installs kubernetes-models)"
fi
