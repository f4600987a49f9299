#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# fluxlb-registry against a real 3-member etcd cluster on loopback, with
# two replicas (a third one, with a token, near the end), real HTTP backends
# (tests/lib/httpd.py) and a real Consul client (python3-consul):
# registration as the platform client sends it and through python3-consul;
# passing after the first check; blocking queries; a backend whose server
# dies turns critical within interval + timeout + 2 s and leaves ?passing;
# deregistration (PUT, and GET as python3-consul sends it); an instance that
# disappears without deregistering is removed when its lease runs out; the
# health-check leader is killed and the other replica takes the checks
# over; an etcd member is killed and writes and reads go on; bad requests
# get 400/413 and the registry keeps serving; the token is enforced; all of
# etcd stopped: /ready 503, /health 200, and ready again once etcd is back.
# Everything runs on 127.0.0.1 with ports and folders unique to the run,
# and nothing is left behind.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
REG=${FLB_REGISTRY:-$ROOT/build/bin/fluxlb-registry} # FLB_REGISTRY: e.g. an ASan build
PY=/usr/bin/python3 # python3-consul imports only under Debian's python
ETCDCTL=(env ETCDCTL_API=3 etcdctl --command-timeout=2s)

if [ "$(id -u)" -ne 0 ]; then
	skip registry "needs root (like every e2e test)"
	exit 0
fi
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	skip registry "etcd not installed (apt-get install etcd-server etcd-client)"
	exit 0
fi
if [ ! -x "$REG" ]; then
	skip registry "build/bin/fluxlb-registry not built"
	exit 0
fi
if ! $PY -c 'import consul' 2>/dev/null; then
	skip registry "python3-consul not installed"
	exit 0
fi

RUN=$(mktemp -d /tmp/flb-registry.XXXXXX)
ETCD_DIR=$RUN/etcd
PREFIX=/flbtest-$$/
TOKEN=tok-$$-$RANDOM
T_START=$(date +%s.%N)
declare -A PID PORT
FAILED=0
fail() { echo "FAIL $SUITE/$1"; shift; echo "  $*"; FAILED=1; }

cleanup() {
	local p
	for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${PID[@]}"; do wait "$p" 2>/dev/null; done 2>/dev/null
	PID=()
	[ -d "$ETCD_DIR" ] && "$ROOT/scripts/etcd-cluster.sh" stop "$ETCD_DIR"
	rm -rf "$RUN"
}
trap cleanup EXIT

# SIGKILL (a crash, not a clean stop) and reap quietly.
stop() {
	kill -9 "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	unset "PID[$1]"
}
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$1" "$(now)"; }
le() { python3 -c "import sys; sys.exit(not float(sys.argv[1]) <= float(sys.argv[2]))" "$1" "$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits up to $1 seconds for a command to succeed.
wait_for() {
	local limit=$1 t0
	shift
	t0=$(now)
	until "$@"; do
		le "$(since "$t0")" "$limit" || return 1
		sleep 0.1
	done
}

backend_start() { # NAME
	PORT[$1]=$(free_port)
	python3 "$ROOT/tests/lib/httpd.py" "$1" "${PORT[$1]}" >/dev/null 2>&1 &
	PID[$1]=$!
}
backend_ready() { curl -sf --max-time 1 "http://127.0.0.1:${PORT[$1]}/health" >/dev/null; }
registry_start() { # NAME [ENV...]
	local n=$1
	shift
	[ -n "${PORT[$n]:-}" ] || PORT[$n]=$(free_port)
	env "$@" "$REG" --listen "127.0.0.1:${PORT[$n]}" --etcd "$ENDPOINTS" --prefix "$PREFIX" \
		--id "$n" --etcd-timeout 1s >>"$RUN/$n.log" 2>&1 &
	PID[$n]=$!
}
url() { echo "http://127.0.0.1:${PORT[$1]}$2"; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
# The platform client's exact request; <hostname> is the backend's pod name
# here, and the port is the backend's own (the test's backends share
# 127.0.0.1, so they cannot all listen on 8000).
platform_register() { # REPLICA NAME HOST BACKEND VERSION
	local port=${PORT[$4]}
	curl -s -o "$RUN/out" -w '%{http_code}' --max-time 5 -X PUT "$(url "$1" /v1/agent/service/register)" \
		-d "{\"ID\": \"$2-$3\", \"Name\": \"$2\", \"Port\": $port, \"Check\": {\"HTTP\": \"http://127.0.0.1:$port/health\", \"Interval\": \"1s\", \"Timeout\": \"1s\"}, \"Meta\": {\"version\": \"$5\"}}"
}
health() { curl -sf --max-time 5 "$(url "$1" "/v1/health/service/$2$3")"; }
# STATUS of instance ID of service NAME through REPLICA ("" when absent).
status_of() { health "$1" "$2" "" | python3 -c 'import json,sys; d=[e for e in json.load(sys.stdin) if e["Service"]["ID"]==sys.argv[1]]; print(d[0]["Checks"][0]["Status"] if d else "")' "$3"; }
passing_ids() { health "$1" "$2" "?passing" | python3 -c 'import json,sys; print(" ".join(sorted(e["Service"]["ID"] for e in json.load(sys.stdin))))'; }
header() { tr -d '\r' | awk -F': ' -v h="$1" 'tolower($1)==tolower(h){print $2}'; }

# ---- etcd and two replicas ----------------------------------------------------
ENDPOINTS=$("$ROOT/scripts/etcd-cluster.sh" start "$ETCD_DIR") || {
	fail etcd_cluster "3-member etcd cluster did not start"
	exit 1
}
echo "  etcd: $ENDPOINTS (up after $(since "$T_START") s)"
registry_start regA
registry_start regB
for b in b1 b2 b3 b4 b5 b6; do backend_start "$b"; done
expect replicas_healthy wait_for 5 eval 'curl -sf "$(url regA /health)" >/dev/null && curl -sf "$(url regB /health)" >/dev/null'
expect replicas_ready_with_etcd wait_for 5 eval '[ "$(code "$(url regA /ready)")" = 200 ] && [ "$(code "$(url regB /ready)")" = 200 ]'
for b in b1 b2 b3 b4 b5 b6; do wait_for 5 backend_ready "$b"; done

# ---- registration --------------------------------------------------------------------
expect platform_request_registers [ "$(platform_register regA web host1 b1 1.0.0)" = 200 ]
expect platform_request_second_instance [ "$(platform_register regB web host2 b2 1.0.1)" = 200 ]
expect python_consul_registers $PY "$ROOT/tests/registry/consul_client.py" "${PORT[regB]}" register api api-host3 "${PORT[b3]}" "http://127.0.0.1:${PORT[b3]}/health" blue
expect python_consul_registers_second $PY "$ROOT/tests/registry/consul_client.py" "${PORT[regA]}" register gone gone-host4 "${PORT[b4]}" "http://127.0.0.1:${PORT[b4]}/health"
t0=$(now)
if wait_for 5 eval '[ "$(passing_ids regB web)" = "web-host1 web-host2" ]'; then
	pass passing_after_first_check
	echo "  both web instances passing $(since "$t0") s after registering"
else
	fail passing_after_first_check "passing: '$(passing_ids regB web)'"
fi
e=$(health regA web "")
expect instance_as_registered [ "$(echo "$e" | python3 -c 'import json,sys; d={x["Service"]["ID"]: x for x in json.load(sys.stdin)}["web-host1"]; s=d["Service"]; print(s["Service"], s["Port"], s["Address"], s["Meta"]["version"], d["Checks"][0]["CheckID"], d["Node"]["Address"])')" = "web ${PORT[b1]} 127.0.0.1 1.0.0 service:web-host1 127.0.0.1" ]
expect python_consul_sees_passing wait_for 5 eval '$PY "$ROOT/tests/registry/consul_client.py" "${PORT[regA]}" passing api | grep -q "\"ids\": \[\"api-host3\"\]"'
expect python_consul_agent_services [ "$($PY "$ROOT/tests/registry/consul_client.py" "${PORT[regA]}" services | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted(d), d["api-host3"]["Tags"])')" = "['api-host3', 'gone-host4', 'web-host1', 'web-host2'] ['blue']" ]
expect catalog_services [ "$(curl -sf "$(url regB /v1/catalog/services)" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted(d), d["api"])')" = "['api', 'gone', 'web'] ['blue']" ]
expect gone_host4_passing wait_for 5 eval '[ "$(status_of regA gone gone-host4)" = passing ]'

# The lease-expiry victim: its server dies now, it never deregisters. A
# poller notes when it turns critical and when etcd has dropped it.
stop b4
T_KILL4=$(now)
python3 "$ROOT/tests/registry/poll_gone.py" gone gone-host4 40 "${PORT[regA]}" "${PORT[regB]}" >"$RUN/gone.json" &
PID[poller]=$!

# ---- blocking query, and a backend whose /health fails ---------------------------
idx=$(curl -s -D - -o /dev/null "$(url regB /v1/health/service/web)" | header X-Consul-Index)
t0=$(now)
curl -s -D "$RUN/block.h" -o /dev/null --max-time 3 "$(url regB "/v1/health/service/web?index=$idx&wait=1s")"
dt=$(since "$t0")
echo "  blocking query without a change returned after ${dt} s (wait=1s)"
expect blocking_query_waits_when_nothing_changes le 0.9 "$dt"
expect blocking_query_wait_is_bounded le "$dt" 2
curl -s -D "$RUN/block.h" -o /dev/null --max-time 30 "$(url regB "/v1/health/service/web?index=$idx&wait=20s")" &
PID[block]=$!
sleep 0.5
expect blocking_query_blocks kill -0 "${PID[block]}"
stop b1
t0=$(now)
wait "${PID[block]}"
unset 'PID[block]'
dt=$(since "$t0")
new_idx=$(header X-Consul-Index <"$RUN/block.h")
echo "  blocking query returned ${dt} s after the backend died (index $idx -> $new_idx)"
expect blocking_query_returns_on_change le "$dt" 4
expect blocking_query_new_index [ "${new_idx:-0}" -gt "$idx" ]
if wait_for 4 eval '[ "$(status_of regA web web-host1)" = critical ]'; then
	dt=$(since "$t0")
	echo "  web-host1 critical after ${dt} s (limit interval 1 s + timeout 1 s + 2 s)"
	expect dead_backend_critical_within_interval_timeout_2s le "$dt" 4
else
	fail dead_backend_critical_within_interval_timeout_2s "status: $(status_of regA web web-host1)"
fi
expect dead_backend_leaves_passing [ "$(passing_ids regA web)" = "web-host2" ]

# ---- deregistration ------------------------------------------------------------------
expect deregister_put [ "$(code -X PUT "$(url regA /v1/agent/service/deregister/web-host2)")" = 200 ]
expect deregister_get_python_consul $PY "$ROOT/tests/registry/consul_client.py" "${PORT[regB]}" deregister api-host3
expect deregistered_are_gone [ "$(status_of regB web web-host2)$(status_of regB api api-host3)" = "" ]
expect deregister_unknown_404 [ "$(code -X PUT "$(url regA /v1/agent/service/deregister/nope)")" = 404 ]

# ---- the health-check leader dies ---------------------------------------------------
leader=$("${ETCDCTL[@]}" --endpoints "$ENDPOINTS" get --print-value-only "${PREFIX}leader")
case $leader in
regA) other=regB ;;
regB) other=regA ;;
*) other="" ;;
esac
if [ -z "$other" ]; then
	fail leader_elected "P/leader holds '$leader'"
else
	pass leader_elected
	stop "$leader"
	t0=$(now)
	expect register_while_leader_dead [ "$(platform_register "$other" web host5 b5 2.0.0)" = 200 ]
	if wait_for 10 eval '[ "$(status_of "$other" web web-host5)" = passing ]'; then
		echo "  checks resumed on $other $(since "$t0") s after $leader was killed"
		pass checks_continue_after_leader_killed
	else
		fail checks_continue_after_leader_killed "web-host5: '$(status_of "$other" web web-host5)'"
	fi
	expect other_replica_leads [ "$("${ETCDCTL[@]}" --endpoints "$ENDPOINTS" get --print-value-only "${PREFIX}leader")" = "$other" ]
	# the dead replica comes back as a follower
	registry_start "$leader"
	wait_for 5 eval '[ "$(code "$(url "$leader" /ready)")" = 200 ]'
fi
R=${other:-regA}

# ---- lease expiry -------------------------------------------------------------------------
wait "${PID[poller]}"
unset 'PID[poller]'
read -r crit gone < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=float(sys.argv[2]); f=lambda v: round(v - t, 2) if v else 99; print(f(d["critical_at"]), f(d["gone_at"]))' "$RUN/gone.json" "$T_KILL4")
echo "  gone-host4 (server killed, never deregistered; lease 10 s): critical after ${crit} s, removed after ${gone} s"
expect unrenewed_instance_turns_critical le "$crit" 4
expect unrenewed_instance_removed_after_its_ttl eval 'le 8 "$gone" && le "$gone" 14'
expect lease_expiry_removes_both_keys [ -z "$("${ETCDCTL[@]}" --endpoints "$ENDPOINTS" get --prefix --keys-only "${PREFIX}" | grep gone-host4)" ]
expect lease_expiry_was_no_deregistration eval '! grep -q "deregistered id=gone-host4" "$RUN"/reg*.log'

# ---- one etcd member dies (the raft leader: the harder case) ------------------------
m=$("$ROOT/scripts/etcd-cluster.sh" leader "$ETCD_DIR")
"$ROOT/scripts/etcd-cluster.sh" kill "$ETCD_DIR" "${m:-1}"
t0=$(now)
if wait_for 8 eval '[ "$(platform_register "$R" web host6 b6 3.0.0)" = 200 ]'; then
	echo "  write accepted $(since "$t0") s after etcd member $m (the raft leader) was killed"
	pass write_continues_after_etcd_member_killed
else
	fail write_continues_after_etcd_member_killed "$(cat "$RUN/out")"
fi
expect read_continues_after_etcd_member_killed [ "$(code "$(url "$R" /v1/health/service/web)")" = 200 ]
expect ready_with_one_etcd_member_down [ "$(code "$(url "$R" /ready)")" = 200 ]
expect checks_continue_with_one_etcd_member_down wait_for 6 eval '[ "$(status_of "$R" web web-host6)" = passing ]'
"$ROOT/scripts/etcd-cluster.sh" restart "$ETCD_DIR" "${m:-1}" >/dev/null

# ---- bad requests --------------------------------------------------------------------------
reg_url=$(url "$R" /v1/agent/service/register)
bad_ok=1
for body in '{bad' '' '[]' '{"Port": 80}' '{"Name": "x"}' '{"Name": "x", "Port": 0}' \
	'{"Name": "x", "Port": 70000}' '{"Name": "x y", "Port": 1}' '{"Name": "x", "Port": 1, "Address": "web.example"}' \
	'{"Name": "x", "Port": 1, "Check": {"HTTP": "http://a/", "Interval": "soon"}}' \
	'{"Name": "x", "Port": 1, "Check": {"Script": "rm -rf /"}}' '{"Name": "x", "Port": 1, "Colour": 1}' \
	'{"Name": "x", "Port": "80"}' '{"Name": "x", "Port": 1, "Meta": {"v": 1}}'; do
	c=$(curl -s -o "$RUN/out" -w '%{http_code}' --max-time 5 -X PUT "$reg_url" -d "$body")
	if [ "$c" != 400 ] || ! grep -q '"error"' "$RUN/out"; then
		echo "  $body -> $c $(cat "$RUN/out")"
		bad_ok=0
	fi
done
expect bad_requests_get_400_with_a_message [ $bad_ok = 1 ]
head -c 70000 /dev/zero | tr '\0' a >"$RUN/big"
expect huge_body_413 [ "$(code -X PUT "$reg_url" --data-binary @"$RUN/big")" = 413 ]
expect huge_chunked_body_413 [ "$(code -X PUT "$reg_url" -H 'Transfer-Encoding: chunked' --data-binary @"$RUN/big")" = 413 ]
expect wrong_method_405 [ "$(code -X DELETE "$reg_url")" = 405 ]
expect registry_alive_after_bad_requests [ "$(code "$(url "$R" /health)")" = 200 ]
expect registry_serves_after_bad_requests [ "$(code -X PUT "$reg_url" -d '{"Name": "plain", "Port": 7}')" = 200 ]

# ---- token ----------------------------------------------------------------------------------
registry_start regT FLB_REGISTRY_TOKEN="$TOKEN"
wait_for 5 eval '[ "$(code "$(url regT /ready)")" = 200 ]'
tr_url=$(url regT /v1/agent/service/register)
body='{"Name": "tok", "Port": 9}'
expect token_required_for_writes [ "$(code -X PUT "$tr_url" -d "$body")" = 403 ]
expect wrong_token_refused [ "$(code -X PUT -H "X-Consul-Token: nope" "$tr_url" -d "$body")" = 403 ]
expect token_in_x_consul_token [ "$(code -X PUT -H "X-Consul-Token: $TOKEN" "$tr_url" -d "$body")" = 200 ]
expect token_as_bearer [ "$(code -X PUT -H "Authorization: Bearer $TOKEN" "$tr_url" -d "$body")" = 200 ]
expect token_in_query [ "$(code -X PUT "$tr_url?token=$TOKEN" -d "$body")" = 200 ]
expect token_python_consul $PY "$ROOT/tests/registry/consul_client.py" "${PORT[regT]}" --token "$TOKEN" register tok tok-py 9 "http://127.0.0.1:${PORT[b6]}/health"
expect deregister_needs_token [ "$(code -X PUT "$(url regT /v1/agent/service/deregister/tok)")" = 403 ]
expect reads_open_with_token [ "$(code "$(url regT /v1/health/service/tok)")" = 200 ]

# ---- all of etcd stops, then comes back ------------------------------------------------------------
"$ROOT/scripts/etcd-cluster.sh" stop-all "$ETCD_DIR"
expect ready_503_when_etcd_down wait_for 5 eval '[ "$(code "$(url "$R" /ready)")" = 503 ]'
expect health_200_when_etcd_down [ "$(code "$(url "$R" /health)")" = 200 ]
expect read_503_when_etcd_down [ "$(code "$(url "$R" /v1/health/service/web)")" = 503 ]
t0=$(now)
"$ROOT/scripts/etcd-cluster.sh" restart "$ETCD_DIR" >/dev/null
expect ready_again_after_etcd_restart wait_for 10 eval '[ "$(code "$(url "$R" /ready)")" = 200 ]'
echo "  ready again $(since "$t0") s after etcd was restarted"
expect leader_elected_again_after_etcd_restart wait_for 6 eval '[ -n "$("${ETCDCTL[@]}" --endpoints "$ENDPOINTS" get --print-value-only "${PREFIX}leader")" ]'
expect registrations_survive_etcd_restart [ "$(status_of "$R" web web-host6)" = passing ]
expect replicas_still_running eval 'for r in regA regB regT; do kill -0 "${PID[$r]}" || exit 1; done'

# ---- a clean stop, and no sanitizer report (when REG is a SAN=1 build) ------------------
kill -TERM "${PID[regT]}"
t0=$(now)
wait "${PID[regT]}"
rc=$?
unset 'PID[regT]'
expect sigterm_stops_cleanly eval '[ $rc = 0 ] && le "$(since "$t0")" 3 && grep -q "msg=\"stopped\"" "$RUN/regT.log"'
expect no_sanitizer_reports eval '! grep -l "AddressSanitizer\|LeakSanitizer\|runtime error:" "$RUN"/reg*.log'

# ---- nothing left behind ---------------------------------------------------------------------------
if [ "$FAILED" = 1 ]; then
	for f in "$RUN"/reg*.log; do
		echo "  --- $(basename "$f") (last 15 lines)"
		tail -15 "$f" | sed 's/^/  /'
	done
fi
cleanup
trap - EXIT
expect nothing_left_behind eval '[ ! -e "$RUN" ] && ! pgrep -f "$ETCD_DIR" >/dev/null && ! pgrep -f "prefix $PREFIX" >/dev/null'
echo "  test_registry took $(since "$T_START") s"
