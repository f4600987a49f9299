#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# fluxlbd's registry sources with a real 3-member etcd cluster (in the LB's
# namespace, where fluxlbd reaches it on loopback) holding fluxlb-registry's
# keys: instances become backends and serve real HTTP; a critical instance
# leaves the table; a deregistered one drains; an etcd outage keeps the last
# tables serving and a change made after etcd returns is applied. With
# fluxlb-registry built, the consul source reading the registry's HTTP API
# builds the same table (same fingerprint) as the etcd source.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbs$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip sources "needs root (netns, XDP)"
	exit 0
fi
if ! command -v etcd >/dev/null; then
	skip sources "etcd is not installed (scripts/install-deps.sh installs etcd-server)"
	exit 0
fi
ETCD_DIR=/run/$TOPO/etcd
cleanup() {
	in_ns lb "$ROOT/scripts/etcd-cluster.sh" stop "$ETCD_DIR" >/dev/null 2>&1
	topo_down
}
trap cleanup EXIT

topo_up
EP=$(in_ns lb "$ROOT/scripts/etcd-cluster.sh" start "$ETCD_DIR") || { fail etcd_cluster "did not start"; exit 1; }
ep1=${EP%%,*}
ctl() { in_ns lb etcdctl --endpoints="$EP" "$@" >/dev/null; }
register() { # i status
	ctl put "/fluxlb/services/web/web-b$1" "{\"ID\":\"web-b$1\",\"Name\":\"web\",\"Address\":\"10.10.2.1$1\",\"Port\":80,\"Check\":{\"HTTP\":\"http://10.10.2.1$1/health\",\"Interval\":\"1s\"}}"
	ctl put "/fluxlb/health/web/web-b$1" "{\"Status\":\"$2\",\"Output\":\"\"}"
}
for i in 1 2 3; do register "$i" passing; done

cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
source: {type: etcd, endpoints: [${EP//,/, }]}
defaults: {drain_timeout: 60s}
services:
  - {name: web, vip: $VIP, port: 80, source_service: web}
YAML
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
pass daemon_ready_from_etcd

r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 90)
echo "  $r"
expect registry_instances_serve_traffic [ "$(echo "$r" | json_get 'd["ok"] == 90 and len(d["by_backend"]) == 3')" = True ]

# wait_for PATTERN: the daemon logs it within 5 s.
wait_for() { for _ in $(seq 1 50); do grep -q "$1" "$DAEMON_LOG" && return 0; sleep 0.1; done; return 1; }
n_tables() { grep -c 'msg="table updated"' "$DAEMON_LOG"; }

t=$(n_tables)
register 2 critical
for _ in $(seq 1 50); do [ "$(n_tables)" -gt "$t" ] && break; sleep 0.1; done
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
expect critical_instance_leaves_table [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-2" not in d["by_backend"]')" = True ]

in_ns cl python3 "$ROOT/tests/lib/client.py" hold "$VIP" 80 10 6 >"/run/$TOPO/hold.json" &
HOLD=$!
sleep 1
ctl del /fluxlb/services/web/web-b3 && ctl del /fluxlb/health/web/web-b3
expect deregistered_instance_drains wait_for 'backend draining'
wait "$HOLD"
expect drained_connections_finish [ "$(json_get 'all(c["failed"] == 0 for c in d["connections"])' <"/run/$TOPO/hold.json")" = True ]

# etcd down: tables stay; back: changes apply again.
in_ns lb "$ROOT/scripts/etcd-cluster.sh" stop-all "$ETCD_DIR" >/dev/null
expect outage_is_logged wait_for 'registry unreachable; the last tables keep serving'
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 40)
expect outage_keeps_serving [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["ok"] == 40')" = True ]
in_ns lb "$ROOT/scripts/etcd-cluster.sh" restart "$ETCD_DIR" >/dev/null
expect recovery_is_logged wait_for 'registry reachable'
t=$(n_tables)
register 2 passing
for _ in $(seq 1 50); do [ "$(n_tables)" -gt "$t" ] && break; sleep 0.1; done
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
expect change_after_recovery_applies [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-2" in d["by_backend"]')" = True ]

# The consul source against fluxlb-registry builds the very table the etcd
# source builds from the registry's keys (same fingerprint).
REG=$ROOT/build/bin/fluxlb-registry
if [ ! -x "$REG" ]; then
	skip consul_and_etcd_sources_agree "build/bin/fluxlb-registry is not built"
	exit 0
fi
kill "$DAEMON_PID"; stop_pid "$DAEMON_PID"
# The registry in the LB's namespace, reachable from the backends at
# 10.10.2.1 (their next hop): each backend registers itself with the
# platform client's request, so the registry takes its address from the
# connection, as in a cluster.
bg_in_ns lb "/run/$TOPO/registry.log" "$REG" --listen :18500 --etcd "$EP" --prefix /reg/
for i in 1 2 3; do
	ip -n "$(ns "b$i")" addr add 10.100.0.2/32 dev lo
	for _ in $(seq 1 50); do
		in_ns "b$i" curl -sf -X PUT "http://10.10.2.1:18500/v1/agent/service/register" -d \
			"{\"ID\": \"api-backend-$i\", \"Name\": \"api\", \"Port\": 80, \"Check\": {\"HTTP\": \"http://10.10.2.1$i:80/health\", \"Interval\": \"1s\", \"Timeout\": \"1s\"}, \"Meta\": {\"version\": \"1.4.2\"}}" \
			>/dev/null && break
		sleep 0.1
	done
done
passing=0
for _ in $(seq 1 100); do
	passing=$(in_ns lb curl -sf "http://127.0.0.1:18500/v1/health/service/api?passing" | json_get 'len(d)' 2>/dev/null)
	[ "$passing" = 3 ] && break
	sleep 0.1
done
expect registry_reports_three_passing [ "$passing" = 3 ]
api_config() { # source yaml
	cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
source: $1
defaults: {drain_timeout: 60s}
services:
  - {name: api, vip: 10.100.0.2, port: 80, source_service: api}
YAML
}
fingerprint_with() { # source yaml
	api_config "$1"
	: >"$DAEMON_LOG"
	daemon_start >/dev/null || return 1
	for _ in $(seq 1 50); do
		grep -q 'msg="table updated" service=api' "$DAEMON_LOG" && break
		sleep 0.1
	done
	grep -o 'msg="table updated" service=api .*fingerprint=[0-9a-f]*' "$DAEMON_LOG" | tail -1 | sed 's/.*fingerprint=//'
	kill "$DAEMON_PID"; stop_pid "$DAEMON_PID"
}
fc=$(fingerprint_with "{type: consul, address: 'http://127.0.0.1:18500'}")
fe=$(fingerprint_with "{type: etcd, endpoints: [${EP//,/, }], prefix: /reg/}")
echo "  fingerprint from consul: $fc, from etcd: $fe"
expect consul_and_etcd_sources_agree [ -n "$fe" -a "$fe" = "$fc" ]

# The whole chain with the etcd source: registry checks -> etcd -> fluxlbd
# -> real traffic. A backend whose server stops is marked critical by the
# registry and leaves the table within interval + timeout + 2 s, with no
# failed new connection after; one that deregisters on shutdown drains.
api_config "{type: etcd, endpoints: [${EP//,/, }], prefix: /reg/}"
: >"$DAEMON_LOG"
daemon_start >/dev/null || fail chain_daemon_ready "fluxlbd did not start"
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread 10.100.0.2 80 60)
expect chain_registry_backends_serve [ "$(echo "$r" | json_get 'd["ok"] == 60 and len(d["by_backend"]) == 3')" = True ]
n0=$(grep -c 'msg="table updated" service=api' "$DAEMON_LOG")
t0=$(date +%s.%N)
kill "$(ip netns pids "$(ns b1)" | head -1)"
for _ in $(seq 1 200); do
	[ "$(grep -c 'msg="table updated" service=api' "$DAEMON_LOG")" -gt "$n0" ] && break
	sleep 0.05
done
dt=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$t0" "$(date +%s.%N)")
echo "  backend-1 out of the table ${dt}s after its server stopped (limit 1s + 1s + 2s)"
expect chain_critical_leaves_within_interval_timeout_2s python3 -c "import sys; sys.exit(not float('$dt') <= 4)"
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread 10.100.0.2 80 60)
expect chain_no_failed_connection_after [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-1" not in d["by_backend"]')" = True ]
in_ns cl python3 "$ROOT/tests/lib/client.py" hold 10.100.0.2 80 10 5 >"/run/$TOPO/hold2.json" &
HOLD=$!
sleep 1
in_ns b2 curl -sf -X PUT "http://10.10.2.1:18500/v1/agent/service/deregister/api-backend-2" >/dev/null
expect chain_deregistered_backend_drains wait_for 'backend draining'
wait "$HOLD"
echo "  held: $(json_get '[(c["backend"], c["ok"], c["failed"]) for c in d["connections"]]' <"/run/$TOPO/hold2.json")"
expect chain_drained_connections_finish [ "$(json_get 'all(c["failed"] == 0 and c["ok"] > 10 for c in d["connections"])' <"/run/$TOPO/hold2.json")" = True ]
