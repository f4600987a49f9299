# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Sourced by tests/e2e/*.sh: result lines in the format tests/run.sh counts.
SUITE=${SUITE:-$(basename "$0" .sh)}
pass() { echo "PASS $SUITE/$1"; }
fail() { echo "FAIL $SUITE/$1"; shift; echo "  $*"; }
skip() { echo "SKIP $SUITE/$1: $2"; }
# expect NAME CONDITION-COMMAND... : PASS when the command succeeds.
expect() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "failed: $*"; fi
}
json_get() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
# k8s_api_start PORT FIXTURE...: tests/k8s/fake_apiserver.py in the "lb"
# namespace on ${K8S_API_HOST:-127.0.0.1}:PORT (scripts/topo.sh's bg_in_ns; stopped with the
# topology), token $DIR/token, state $DIR/api-state.json (a restart keeps
# the objects), log $DIR/apiserver.log. Sets API and API_PID; fails when it
# does not answer within 5 s.
k8s_api_start() {
	local port=$1 _
	shift
	API=http://${K8S_API_HOST:-127.0.0.1}:$port
	bg_in_ns lb "$DIR/apiserver.log" python3 "$ROOT/tests/k8s/fake_apiserver.py" \
		--listen "${K8S_API_HOST:-127.0.0.1}" --port "$port" --token-file "$DIR/token" --state "$DIR/api-state.json" "$@"
	API_PID=${PIDS[-1]}
	for _ in $(seq 1 50); do in_ns lb curl -s "$API/_control/stats" >/dev/null && return 0; sleep 0.1; done
	return 1
}
