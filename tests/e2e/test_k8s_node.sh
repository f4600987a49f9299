#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Local pods by the EndpointSlice's nodeName (docs/pods.md "Which pods are
# local"): the topology of test_pods.sh (client -> LB -> node -> pods on
# 8080), both daemons fed by tests/k8s/fake_apiserver.py (services: [],
# shop/web discovered, port 80 -> targetPort 8080), the node role with no
# node.pods.cidrs and NODE_NAME=node-a. Pods 1-3 are node-a's endpoints:
# the node translates for them and connections are answered by all three;
# pod 4's endpoint says node-b (and is not ready): the node has no entry
# for it. Then pod 4's endpoint moves to node-a and becomes ready: the node
# adds its entry and pod 4 answers too.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbkn$$
NBACKENDS=0
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip k8s_node "needs root (netns, XDP, tc)"
	exit 0
fi
NPODS=4
NODE_CONFIG=/run/$TOPO/node.yaml
NODE_LOG=/run/$TOPO/node.log
DIR=/run/$TOPO
source "$ROOT/tests/lib/pods.sh"
trap pods_down EXIT
export NODE_NAME=node-a FLUXLB_NODE_NAME=node-a

# slice "1:node-a:ready 4:node-b:out": shop/web's EndpointSlice, as JSON.
slice() {
	python3 - "$1" <<'PY'
import json, sys
conds = {"ready": (True, True, False), "out": (False, False, False)}
eps = []
for spec in sys.argv[1].split():
    i, node, state = spec.split(":")
    r, s, t = conds[state]
    eps.append({"addresses": ["10.20.0.1%s" % i], "nodeName": node,
                "conditions": {"ready": r, "serving": s, "terminating": t},
                "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-%s" % i}})
print(json.dumps({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
    "metadata": {"name": "web-k8n2x", "namespace": "shop",
                 "labels": {"kubernetes.io/service-name": "web",
                            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
    "addressType": "IPv4", "ports": [{"name": "http", "protocol": "TCP", "port": 8080}], "endpoints": eps}))
PY
}

pods_up
mkdir -p "$DIR"
echo "t0k3n-$$" >"$DIR/token"
python3 - "$DIR/fixture.json" "$(slice '1:node-a:ready 2:node-a:ready 3:node-a:ready 4:node-b:out')" <<'PY'
import json, sys
svc = {"apiVersion": "v1", "kind": "Service",
       "metadata": {"name": "web", "namespace": "shop", "annotations": {"fluxlb.io/vip": "10.100.0.1"}},
       "spec": {"type": "LoadBalancer", "loadBalancerClass": "fluxlb.io/l4", "selector": {"app": "web"},
                "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}]}}
json.dump([svc, json.loads(sys.argv[2])], open(sys.argv[1], "w"))
PY
# The API server listens on the LB's address toward the node: both reach it.
K8S_API_HOST=10.10.2.1 k8s_api_start 16446 "$DIR/fixture.json" ||
	{ fail api_server "fake_apiserver.py did not start: $(cat "$DIR/apiserver.log")"; exit 1; }

source_yaml() {
	cat <<YAML
source:
  type: kubernetes
  api_server: $API
  token_file: $DIR/token
  namespace: shop
  write_status: false
defaults: {drain_timeout: 2s}
services: []
YAML
}
{ echo "interfaces: [eth0]"; echo "node: {bpffs: $PIN_BASE}"; source_yaml; } >"$CONFIG"
{
	echo "interfaces: []"
	echo "node:"
	echo "  bpffs: $BPFFS/node"
	echo "  pods: {interface: eth0}     # no cidrs: nodeName decides"
	source_yaml
} >"$NODE_CONFIG"

daemon_start || { fail lb_ready "fluxlbd (balancer) did not become ready"; exit 1; }
node_start || { fail node_ready "fluxlbd (node role) did not become ready"; exit 1; }
abi=$(awk '/^#define FLB_ABI_VERSION/ { print $3 }' "$ROOT/include/flb_abi.h")
# pods_in_table: "pod:VIP port" of every entry of the node's flb_node_nat, sorted.
pods_in_table() {
	bpftool -j map dump pinned "$BPFFS/node/v$abi/flb_node_nat" | python3 -c '
import json, sys, socket, struct
out = []
for e in json.load(sys.stdin):
    k = e["formatted"]["key"]
    out.append("%s:%d" % (socket.inet_ntoa(struct.pack("<I", k["pod"][0])), socket.ntohs(k["vport"])))
print(" ".join(sorted(out)))'
}
for _ in $(seq 1 100); do [ -n "$(pods_in_table)" ] && break; sleep 0.1; done
t=$(pods_in_table)
echo "  node table (pod:VIP port): $t"
expect only_the_pods_named_on_this_node_are_local \
	[ "$t" = "10.20.0.11:80 10.20.0.12:80 10.20.0.13:80" ]
node_wait_log 'msg="node table applied" entries=3' 1
out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 300)
echo "  $out"
expect connections_answered_by_the_three_local_pods \
	[ "$(echo "$out" | json_get 'd["ok"] == 300 and sorted(d["by_backend"]) == ["pod-1", "pod-2", "pod-3"]')" = True ]

# Pod 4's endpoint moves to this node and becomes ready.
in_ns lb curl -sf -X POST "$API/_control/apply" \
	-d "{\"object\": $(slice '1:node-a:ready 2:node-a:ready 3:node-a:ready 4:node-a:ready')}" >/dev/null
expect pod_named_on_this_node_later_gets_its_entry node_wait_log 'msg="node table applied" entries=4' 1 10
for _ in $(seq 1 100); do
	in_ns lb "$BIN/fluxlb" --bpffs "$PIN_BASE" -j backend list 2>/dev/null | grep -q '10.20.0.14' && break
	sleep 0.1
done
out=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 300)
echo "  $out"
expect connections_answered_by_four_pods \
	[ "$(echo "$out" | json_get 'd["ok"] == 300 and sorted(d["by_backend"]) == ["pod-1", "pod-2", "pod-3", "pod-4"]')" = True ]
