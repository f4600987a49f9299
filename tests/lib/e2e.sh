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
# wait_file PATH SECONDS: waits until PATH exists and is not empty.
wait_file() {
	local _
	for _ in $(seq 1 $(($2 * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# hold_connections VIP N DIR (needs scripts/topo.sh): in the client
# namespace, opens N keep-alive connections to VIP:80 and asks each for its
# backend, writing DIR/opened.json; on DIR/check asks each again and writes
# DIR/checked.json (a backend name, "reset" or "error: ..." per
# connection); on DIR/close closes them all normally (FIN: every answer was
# read) and writes DIR/closed. Its pid goes into PIDS; output in DIR/hold.log.
hold_connections() {
	mkdir -p "$3"
	in_ns cl python3 - "$1" "$2" "$3" >"$3/hold.log" 2>&1 <<'PY' &
import json, os, socket, sys, time
vip, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def ask(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: vip\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = s.recv(4096)
        if not c:
            raise OSError("closed")
        buf += c
    head, _, body = buf.partition(b"\r\n\r\n")
    length = [int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0]
    while len(body) < length:
        c = s.recv(4096)
        if not c:
            raise OSError("closed")
        body += c
    return body.decode().strip()

def round_(conns):
    out = []
    for s in conns:
        try:
            out.append(ask(s))
        except ConnectionResetError:
            out.append("reset")
        except OSError as e:
            out.append("error: %s" % e)
    return out

def wait(name):
    while not os.path.exists(os.path.join(d, name)):
        time.sleep(0.05)

conns = [socket.create_connection((vip, 80), timeout=3.0) for _ in range(n)]
json.dump(round_(conns), open(d + "/opened.json", "w"))
wait("check")
json.dump(round_(conns), open(d + "/checked.json", "w"))
wait("close")
for s in conns:
    s.close()
open(d + "/closed", "w").write("closed\n")
PY
	PIDS+=("$!")
}
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
