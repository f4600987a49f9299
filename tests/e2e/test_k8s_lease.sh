#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Two fluxlbd daemons (node-a on the LB's eth0, node-b on a second
# interface with pins of its own) with the kubernetes source against
# tests/k8s/fake_apiserver.py: exactly one holds the coordination.k8s.io
# Lease and writes status.loadBalancer.ingress; the Service shop/web asks
# for no VIP, gets 10.100.0.1 from address_pool, and that VIP carries real
# traffic to its EndpointSlice's backends. A Service requesting a held
# address (conflict) and one finding the pool exhausted are logged, counted
# and not served; web is unaffected. A 409 on a status write is read again
# and retried; an RBAC-like 403 on services/status is logged and counted,
# and the write lands once allowed; a 403 on the Lease makes the writer step
# down and nobody writes until allowed. SIGKILL of the leader: the other takes
# over after the Lease expires (3 s here), keeps the statuses and writes
# new ones. SIGTERM of the leader releases the Lease: the other takes over
# well before expiry. Every object the fake served (Leases, Services with
# a status) validates against kubernetes-models.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbl$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip k8s_lease "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

topo_up
DIR=/run/$TOPO
PORT=$((17000 + $$ % 1000))
API=http://127.0.0.1:$PORT
MPORT_A=$((18000 + $$ % 1000))
MPORT_B=$((MPORT_A + 1000))
LOG_A=$DAEMON_LOG
LOG_B=$DIR/fluxlbd-b.log
echo "t0k3n-$$" >"$DIR/token"
# node-b's interface: a veth pair inside the LB namespace (XDP native on it).
ip -n "$(ns lb)" link add eth1 type veth peer name eth1p
ip -n "$(ns lb)" link set eth1 up
ip -n "$(ns lb)" link set eth1p up

# The Service asks for no VIP; its EndpointSlice lists the three backends.
python3 - "$DIR/fixtures.json" <<'PY'
import json, sys
eps = [{"addresses": ["10.10.2.1%d" % i], "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-%d" % i}} for i in (1, 2, 3)]
json.dump([
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"type": "LoadBalancer", "loadBalancerClass": "fluxlb.io/l4", "selector": {"app": "web"},
              "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 80}]}},
    {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
     "metadata": {"name": "web-5fq2p", "namespace": "shop",
                  "labels": {"kubernetes.io/service-name": "web",
                             "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
     "addressType": "IPv4", "ports": [{"name": "http", "protocol": "TCP", "port": 80}], "endpoints": eps},
], open(sys.argv[1], "w"))
PY
bg_in_ns lb "$DIR/apiserver.log" python3 "$ROOT/tests/k8s/fake_apiserver.py" \
	--port "$PORT" --token-file "$DIR/token" "$DIR/fixtures.json"
api_up() { in_ns lb curl -s "$API/_control/stats" >/dev/null; }
for _ in $(seq 1 200); do api_up && break; sleep 0.1; done
api_up || { fail api_server "fake_apiserver.py did not start within 20 s: $(cat "$DIR/apiserver.log")"; exit 1; }

ctl() { local body=${2:-'{}'}; in_ns lb curl -sf -X POST "$API/_control/$1" -d "$body" >/dev/null; }
stats() { in_ns lb curl -sf "$API/_control/stats"; }
api() { in_ns lb curl -sf -H "Authorization: Bearer t0k3n-$$" "$API/$1"; }
ingress() { api "api/v1/namespaces/shop/services/$1" | json_get '",".join(i.get("ip", "") for i in (d.get("status") or {}).get("loadBalancer", {}).get("ingress", []))'; }
holder() { api apis/coordination.k8s.io/v1/namespaces/shop/leases/fluxlbd-status-writer | json_get 'd["spec"].get("holderIdentity", "")'; }
metric() { in_ns lb curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
svc() { # svc NAME [VIP]: a Service of our class, with the annotation when VIP is given
	local md="{\"name\": \"$1\", \"namespace\": \"shop\"}"
	[ -n "${2:-}" ] && md="{\"name\": \"$1\", \"namespace\": \"shop\", \"annotations\": {\"fluxlb.io/vip\": \"$2\"}}"
	ctl apply "{\"object\": {\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": $md,
	  \"spec\": {\"type\": \"LoadBalancer\", \"loadBalancerClass\": \"fluxlb.io/l4\", \"selector\": {\"app\": \"$1\"},
	  \"ports\": [{\"name\": \"http\", \"protocol\": \"TCP\", \"port\": 80}]}}}"
}
# until SECONDS CMD...: retries CMD every 0.2 s
until_ok() { local t=$1 _; shift; for _ in $(seq 1 $((t * 5))); do "$@" && return 0; sleep 0.2; done; return 1; }
is() { [ "$("${@:2}")" = "$1" ]; }
spread() { in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 "$1"; }

config() { # config NODE IFACE BPFFS MPORT
	cat <<YAML
interfaces: [$2]
node: {bpffs: $3}
metrics: {listen: "127.0.0.1:$4"}
source:
  type: kubernetes
  api_server: $API
  token_file: $DIR/token
  namespace: shop
  address_pool: [10.100.0.1-10.100.0.2]
  node_name: $1
  lease_duration: 3s
services:
  - {name: web, vip: $VIP, port: 80, source_service: "shop/web:http"}
YAML
}
config node-a eth0 "$PIN_BASE" "$MPORT_A" >"$CONFIG"
config node-b eth1 "$BPFFS/fluxlb-b" "$MPORT_B" >"$DIR/b.yaml"
start_b() {
	bg_in_ns lb "$LOG_B" "$BIN/fluxlbd" --config "$DIR/b.yaml"
	PID_B=${PIDS[-1]}
}
backends_wait
daemon_start || { fail daemon_a_ready "fluxlbd node-a did not become ready"; exit 1; }
PID_A=$DAEMON_PID
start_b

leaders() { echo $(($(metric "$MPORT_A" fluxlb_k8s_leader || echo 0) + $(metric "$MPORT_B" fluxlb_k8s_leader || echo 0))); }
until_ok 10 is 1 leaders
expect exactly_one_daemon_is_leader is 1 leaders
who_leads() {
	H=$(holder)
	echo "  Lease holder: $H"
	case $H in
	node-a) LEAD_PID=$PID_A LEAD_LOG=$LOG_A LEAD_M=$MPORT_A OTHER=node-b OTHER_LOG=$LOG_B OTHER_M=$MPORT_B ;;
	node-b) LEAD_PID=$PID_B LEAD_LOG=$LOG_B LEAD_M=$MPORT_B OTHER=node-a OTHER_LOG=$LOG_A OTHER_M=$MPORT_A ;;
	*) fail lease_holder_is_a_node "holderIdentity \"$H\""; exit 1 ;;
	esac
}
who_leads
expect lease_holder_is_the_leader_by_metrics is 1 metric "$LEAD_M" fluxlb_k8s_leader

# The pool's first address lands in web's status, written by the leader only.
until_ok 10 is 10.100.0.1 ingress web
expect pool_vip_written_to_status is 10.100.0.1 ingress web
writes="$(grep -c 'kubernetes service status written' "$OTHER_LOG")/$(grep -c 'kubernetes service status written.*shop/web ingress=10.100.0.1' "$LEAD_LOG")"
expect only_the_leader_writes_status [ "$writes" = 0/1 ]
expect status_write_counted is 1 metric "$LEAD_M" 'fluxlb_k8s_status_writes_total{result="ok"}'

until_ok 10 grep -q 'msg="table updated"' "$LOG_A"
r=$(spread 90)
echo "  $r"
expect pool_vip_serves_traffic [ "$(echo "$r" | json_get 'd["ok"] == 90 and len(d["by_backend"]) == 3')" = True ]
expect both_nodes_serve_the_status_vip until_ok 10 grep -q 'msg="table updated"' "$LOG_B"

# A conflicting request and an exhausted pool: logged, counted, not served.
svc extra
until_ok 10 is 10.100.0.2 ingress extra
expect second_service_gets_next_pool_address is 10.100.0.2 ingress extra
svc clash 10.100.0.1
expect conflict_is_logged until_ok 10 grep -q 'kubernetes service has no VIP.*service=shop/clash reason=conflict' "$LEAD_LOG"
expect conflict_is_counted is 1 metric "$LEAD_M" 'fluxlb_k8s_vip_unassigned_total{reason="conflict"}'
expect conflict_gets_no_status is "" ingress clash
svc more
expect exhausted_is_logged until_ok 10 grep -q 'kubernetes service has no VIP.*service=shop/more reason=exhausted' "$LEAD_LOG"
expect exhausted_is_counted is 1 metric "$LEAD_M" 'fluxlb_k8s_vip_unassigned_total{reason="exhausted"}'
expect web_keeps_its_vip is 10.100.0.1 ingress web
r=$(spread 60)
expect others_unaffected_by_conflict_and_exhaustion [ "$(echo "$r" | json_get 'd["ok"] == 60 and len(d["by_backend"]) == 3')" = True ]

# 409 on a status write: the writer reads the Service again and retries.
ctl conflict '{"n": 1}'
ctl delete '{"kind": "Service", "namespace": "shop", "name": "extra"}'
until_ok 10 is 10.100.0.2 ingress more
expect freed_address_goes_to_waiting_service_despite_409 is 10.100.0.2 ingress more
expect conflict_409_is_logged grep -q 'status changed under us (409 Conflict).*shop/more' "$LEAD_LOG"
expect conflict_409_is_counted is 1 metric "$LEAD_M" 'fluxlb_k8s_status_writes_total{result="conflict"}'

# RBAC-like 403 on services/status: logged, counted; lands once allowed.
ctl forbid '{"rules": ["services/status:update"]}'
svc late 10.100.0.7
expect forbidden_status_write_is_logged until_ok 10 grep -q 'status write failed.*shop/late.*HTTP 403' "$LEAD_LOG"
expect forbidden_status_write_is_counted [ "$(metric "$LEAD_M" 'fluxlb_k8s_status_writes_total{result="failed"}')" -ge 1 ]
ctl forbid '{"rules": []}'
svc late 10.100.0.7 # any change makes the writer look again (else within 30 s)
expect allowed_status_write_lands until_ok 10 is 10.100.0.7 ingress late

# A Role without leases update (RBAC-like 403): the writer steps down at
# once and nobody writes; once allowed, one node holds the Lease again.
m=$(wc -l <"$LEAD_LOG")
ctl forbid '{"rules": ["leases:update"]}'
expect lease_403_steps_down until_ok 10 sh -c "tail -n +$((m + 1)) '$LEAD_LOG' | grep -q 'no longer the kubernetes status writer'"
expect lease_403_is_logged grep -q 'kubernetes Lease request failed.*HTTP 403' "$LEAD_LOG"
expect lease_403_is_counted [ "$(metric "$LEAD_M" fluxlb_k8s_lease_failures_total)" -ge 1 ]
sleep 4 # longer than the Lease: the other node tries to take it over, and is refused too
expect lease_403_nobody_leads is 0 leaders
ctl forbid '{"rules": []}'
expect lease_allowed_again_one_leader until_ok 10 is 1 leaders
who_leads

# Kill the leader: the other takes over after expiry and keeps statuses.
# Only lines written after the kill count: the follower may have been the
# writer before (roles can swap while the Lease was refused above).
seen=$(wc -l <"$OTHER_LOG")
kill -9 "$LEAD_PID"
wait "$LEAD_PID" 2>/dev/null
t0=$(date +%s.%N)
expect follower_takes_over_after_expiry until_ok 15 sh -c "tail -n +$((seen + 1)) '$OTHER_LOG' | grep -q 'became the kubernetes status writer'"
t1=$(date +%s.%N)
echo "  takeover after SIGKILL: $(python3 -c "print(round($t1 - $t0, 1))") s (lease_duration 3 s)"
expect takeover_waits_for_expiry python3 -c "import sys; sys.exit(not $t1 - $t0 >= 1.8)"
expect lease_names_the_new_leader is "$OTHER" holder
expect new_leader_by_metrics is 1 metric "$OTHER_M" fluxlb_k8s_leader
expect statuses_kept_after_takeover [ "$(ingress web)/$(ingress more)/$(ingress late)" = 10.100.0.1/10.100.0.2/10.100.0.7 ]
svc after 10.100.0.9
expect new_leader_writes_status until_ok 10 is 10.100.0.9 ingress after
expect new_leader_wrote_no_kept_status [ "$(tail -n +$((seen + 1)) "$OTHER_LOG" | grep -c 'kubernetes service status written.*shop/web ingress')" = 0 ]
r=$(spread 60)
expect traffic_after_takeover [ "$(echo "$r" | json_get 'd["ok"] == 60 and len(d["by_backend"]) == 3')" = True ]

# Restart the killed one (a follower now); SIGTERM the leader: it releases
# the Lease and the restarted one takes it without waiting for expiry.
if [ "$LEAD_PID" = "$PID_A" ]; then
	daemon_start >/dev/null || fail restart_killed "node-a did not come back"
	NEW_PID=$DAEMON_PID STOP_PID=$PID_B NEW_LOG=$LOG_A STOP_LOG=$LOG_B
else
	m=$(wc -l <"$LOG_B")
	start_b
	until_ok 10 sh -c "tail -n +$((m + 1)) '$LOG_B' | grep -q 'msg=\"ready\"'"
	NEW_PID=$PID_B STOP_PID=$PID_A NEW_LOG=$LOG_B STOP_LOG=$LOG_A
fi
sleep 1.5 # one Lease round of the restarted daemon: it sees the holder
before=$(grep -c 'became the kubernetes status writer' "$NEW_LOG")
kill "$STOP_PID"
t0=$(date +%s.%N)
stop_pid "$STOP_PID"
expect clean_stop_releases_lease grep -q 'released the kubernetes status writer Lease' "$STOP_LOG"
became() { [ "$(grep -c 'became the kubernetes status writer' "$NEW_LOG")" -gt "$before" ]; }
expect released_lease_taken_at_once until_ok 10 became
t1=$(date +%s.%N)
echo "  takeover after release: $(python3 -c "print(round($t1 - $t0, 1))") s"
expect release_takeover_before_expiry python3 -c "import sys; sys.exit(not $t1 - $t0 < 3.0)"
expect statuses_kept_after_release [ "$(ingress web)/$(ingress after)" = 10.100.0.1/10.100.0.9 ]
echo "  api server: $(stats)"

# Every object served validates against the Kubernetes schemas.
MODS=$ROOT/tests/manifests
if command -v node >/dev/null && [ -d "$MODS/node_modules/kubernetes-models" ]; then
	in_ns lb curl -sf "$API/_control/objects" >"$DIR/objects.json"
	expect leases_and_statuses_were_served python3 -c '
import json, sys
d = [o["doc"] for o in json.load(open(sys.argv[1]))]
sys.exit(not (any(o["kind"] == "Lease" for o in d) and any(o.get("status", {}).get("loadBalancer", {}).get("ingress") for o in d)))' "$DIR/objects.json"
	out=$(cd "$MODS" && node check_schema.mjs <"$DIR/objects.json" 2>&1)
	rc=$?
	echo "  $(echo "$out" | tail -1)"
	expect served_objects_validate_against_kubernetes_models [ "$rc" = 0 ]
	[ "$rc" = 0 ] || echo "$out" | head -20
else
	skip served_objects_validate_against_kubernetes_models "node or tests/manifests/node_modules missing (scripts/install-deps.sh installs kubernetes-models)"
fi
