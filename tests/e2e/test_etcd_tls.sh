#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# etcd secured as deploy/daemonset runs it, with a real etcd: certificates
# made here with openssl (a CA; a server certificate with SAN 127.0.0.1;
# client certificates without a CommonName), etcd on https:// with
# --client-cert-auth and peer TLS, auth enabled (root, and one user per
# program with its own role). fluxlb-registry writes its keys over TLS with
# its credentials, fluxlbd's etcd source reads them over TLS with its own
# and real traffic reaches the registered backends. Refused: a client
# without a certificate (curl, and the registry), a server certificate from
# an unknown CA, a client certificate with a CommonName (etcd's gateway), a
# wrong password (fluxlbd after etcd restarts: logged with kind=auth,
# counted, the last tables keep serving, a fixed password file is picked up
# without a restart). Everything runs in the test's own namespaces on
# loopback and goes away with them.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbt$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip etcd_tls "needs root (netns, XDP)"
	exit 0
fi
for c in etcd etcdctl openssl curl; do
	if ! command -v "$c" >/dev/null; then
		skip etcd_tls "$c is not installed (scripts/install-deps.sh installs it)"
		exit 0
	fi
done
REG=$BIN/fluxlb-registry
RUN=/run/$TOPO
PKI=$RUN/pki
CPORT=23791 # inside the LB namespace: no other test shares its loopback
PPORT=23801
EP=https://127.0.0.1:$CPORT
ETCD_LOG=$RUN/etcd.log
trap topo_down EXIT

topo_up
mkdir -p "$PKI" "$RUN/etcd.data"
chmod 700 "$PKI"

# ---- certificates --------------------------------------------------------------------------
ossl() { openssl "$@" >/dev/null 2>&1; }
ca() { # NAME
	ossl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -days 1 \
		-subj "/O=fluxlb test/CN=$1"
}
cert() { # NAME CA SUBJECT EXTENSIONS
	ossl req -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$3"
	printf '%b\n' "$4" >"$PKI/$1.ext"
	ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" -CAcreateserial \
		-out "$PKI/$1.crt" -days 1 -extfile "$PKI/$1.ext"
}
ca ca
ca rogue-ca
# etcd's gateway dials etcd's own gRPC port with the server certificate:
# it needs clientAuth too.
cert server ca "/O=fluxlb test/CN=etcd" \
	"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth"
# No CommonName: with auth on, etcd's gateway refuses a client certificate
# that has one (docs/registry.md, "Securing etcd").
for who in fluxlbd registry admin; do
	cert "$who" ca "/O=fluxlb test/OU=$who" "subjectAltName=DNS:$who\nextendedKeyUsage=clientAuth"
done
cert with-cn ca "/O=fluxlb test/CN=fluxlbd" "extendedKeyUsage=clientAuth"
if [ -s "$PKI/fluxlbd.crt" ] && [ -s "$PKI/server.crt" ] && [ -s "$PKI/with-cn.crt" ]; then
	pass certificates_generated
else
	fail certificates_generated "openssl did not write them"
	exit 1
fi
printf 'root-%s\n' "$RANDOM$RANDOM" >"$PKI/root.pw"
printf 'reg-%s\n' "$RANDOM$RANDOM" >"$PKI/registry.pw"
printf 'lb-%s\n' "$RANDOM$RANDOM" >"$PKI/fluxlbd.pw"
chmod 600 "$PKI"/*.pw "$PKI"/*.key

# ---- etcd: client and peer TLS, client certificates required ----------------------------------
etcd_start() {
	bg_in_ns lb "$ETCD_LOG" etcd --name m1 --data-dir "$RUN/etcd.data" \
		--listen-client-urls "$EP" --advertise-client-urls "$EP" \
		--listen-peer-urls "https://127.0.0.1:$PPORT" \
		--initial-advertise-peer-urls "https://127.0.0.1:$PPORT" \
		--initial-cluster "m1=https://127.0.0.1:$PPORT" --initial-cluster-state new \
		--cert-file "$PKI/server.crt" --key-file "$PKI/server.key" \
		--trusted-ca-file "$PKI/ca.crt" --client-cert-auth \
		--peer-cert-file "$PKI/server.crt" --peer-key-file "$PKI/server.key" \
		--peer-trusted-ca-file "$PKI/ca.crt" --peer-client-cert-auth \
		--logger zap --log-outputs stderr
	ETCD_PID=${PIDS[-1]}
}
ctl() { # etcdctl as root (after auth is on) with the admin certificate
	in_ns lb env ETCDCTL_API=3 etcdctl --endpoints "$EP" --cacert "$PKI/ca.crt" \
		--cert "$PKI/admin.crt" --key "$PKI/admin.key" --command-timeout=3s \
		${AUTH:+--user "root:$(cat "$PKI/root.pw")"} "$@"
}
ctl_anon() { # the admin certificate, no user
	in_ns lb env ETCDCTL_API=3 etcdctl --endpoints "$EP" --cacert "$PKI/ca.crt" \
		--cert "$PKI/admin.crt" --key "$PKI/admin.key" --command-timeout=3s "$@" >/dev/null 2>&1
}
export -f ctl_anon in_ns ns
export EP PKI TOPO
etcd_wait() {
	for _ in $(seq 1 100); do
		ctl endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
etcd_start
etcd_wait || { fail etcd_tls_started "etcd did not answer; its log:"; tail -20 "$ETCD_LOG"; exit 1; }
pass etcd_tls_started
# Users and roles: the very script of deploy/daemonset/etcd-auth.yaml (root;
# fluxlb-registry read-write on /fluxlb/; fluxlbd read-only), with the
# Secrets' files laid out as the Job mounts them.
mkdir -p "$PKI/client-admin" "$PKI/passwords"
cp "$PKI/ca.crt" "$PKI/client-admin/ca.crt"
cp "$PKI/admin.crt" "$PKI/client-admin/tls.crt"
cp "$PKI/admin.key" "$PKI/client-admin/tls.key"
cp "$PKI/root.pw" "$PKI/passwords/root"
cp "$PKI/registry.pw" "$PKI/passwords/fluxlb-registry"
cp "$PKI/fluxlbd.pw" "$PKI/passwords/fluxlbd"
python3 -c 'import sys, yaml
job = yaml.safe_load(open(sys.argv[1]))
print(job["spec"]["template"]["spec"]["containers"][0]["args"][0])' \
	"$ROOT/deploy/daemonset/etcd-auth.yaml" >"$RUN/etcd-auth.sh"
in_ns lb env ETCD_ENDPOINTS="$EP" CERT_DIR="$PKI/client-admin" PASSWORD_DIR="$PKI/passwords" \
	sh "$RUN/etcd-auth.sh" >"$RUN/auth.log" 2>&1
rc=$?
echo "  etcd-auth Job script: exit $rc: $(tail -1 "$RUN/auth.log")"
expect etcd_auth_job_script_enables_auth [ "$rc" = 0 ]
AUTH=1
expect root_reads_with_auth ctl get /fluxlb/ --prefix
expect etcd_auth_enabled_refuses_anonymous bash -c "! AUTH= ctl_anon get /fluxlb/ --prefix"

# ---- refusals at the door ------------------------------------------------------------------
body='{"key":"L2ZsdXhsYi8=","range_end":"L2ZsdXhsYjA="}' # /fluxlb/ .. /fluxlb0
in_ns lb curl -sS --max-time 3 --cacert "$PKI/ca.crt" "$EP/v3/kv/range" -d "$body" \
	>"$RUN/nocert.out" 2>&1
rc=$?
echo "  curl without a client certificate: exit $rc: $(head -c 160 "$RUN/nocert.out")"
expect client_without_certificate_refused [ "$rc" -ne 0 ]
expect etcd_logs_missing_certificate grep -q "client didn't provide a certificate" "$ETCD_LOG"
code=$(in_ns lb curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert "$PKI/ca.crt" \
	--cert "$PKI/fluxlbd.crt" --key "$PKI/fluxlbd.key" "$EP/v3/kv/range" -d "$body")
expect certificate_without_credentials_refused [ "$code" != 200 ]

# A second, misconfigured registry each time: /ready says why (503) and
# its log names the kind. RPORT: the next free registry port.
RPORT=18600
bad_registry() { # NAME ARGS...: leaves its /ready body in $RUN/NAME.ready
	local name=$1 port=$((RPORT++))
	shift
	bg_in_ns lb "$RUN/$name.log" "$REG" --listen "127.0.0.1:$port" --etcd "$EP" \
		--etcd-timeout 1s "$@"
	# Until /ready counts a classified failure (the first attempt may only
	# have met a dropped connection), or 5 s: the checks judge the last body.
	for _ in $(seq 1 50); do
		in_ns lb curl -s --max-time 3 "http://127.0.0.1:$port/ready" >"$RUN/$name.ready" 2>/dev/null &&
			grep -Eq '^etcd_(tls|auth)_failures [1-9]' "$RUN/$name.ready" && break
		sleep 0.1
	done
	kill "${PIDS[-1]}"
	echo "  $name /ready: $(head -1 "$RUN/$name.ready")"
}
bad_registry reg-nocert --etcd-ca-file "$PKI/ca.crt" --etcd-user fluxlb-registry \
	--etcd-password-file "$PKI/registry.pw"
# etcd ends the TLS 1.3 session after the handshake: the first error says
# "alert bad certificate", later ones on the same handle may only say the
# connection dropped, so /ready shows the latest and the log the first.
expect registry_without_certificate_not_ready grep -q '^etcd unreachable: ' "$RUN/reg-nocert.ready"
# Under heavy load etcd can drop the connection before the client reads the
# alert: then no client, curl included, can tell a refused certificate from
# a dropped connection, and the classification is not judged (the refusal
# itself is, above). The registry's own log says which form it met.
if grep -q 'alert bad certificate' "$RUN/reg-nocert.log"; then
	expect registry_logs_refused_certificate grep -q 'msg="etcd request failed".*kind=tls error=".*alert bad certificate' "$RUN/reg-nocert.log"
	expect registry_counts_tls_failures grep -Eq '^etcd_tls_failures [1-9]' "$RUN/reg-nocert.ready"
else
	why="etcd dropped every connection before its TLS alert reached the client ($(grep -o 'error="[^"]*' "$RUN/reg-nocert.log" | head -1 | cut -c8-100)); the refusal is checked, its classification cannot be"
	skip registry_logs_refused_certificate "$why"
	skip registry_counts_tls_failures "$why"
fi
bad_registry reg-rogue-ca --etcd-ca-file "$PKI/rogue-ca.crt" --etcd-cert-file "$PKI/registry.crt" \
	--etcd-key-file "$PKI/registry.key" --etcd-user fluxlb-registry --etcd-password-file "$PKI/registry.pw"
expect unknown_server_ca_refused grep -q 'kind=tls error="SSL certificate problem' "$RUN/reg-rogue-ca.log"
bad_registry reg-cn --etcd-ca-file "$PKI/ca.crt" --etcd-cert-file "$PKI/with-cn.crt" \
	--etcd-key-file "$PKI/with-cn.key" --etcd-user fluxlb-registry --etcd-password-file "$PKI/registry.pw"
expect certificate_with_common_name_explained grep -q 'kind=tls error="HTTP 400: CommonName' "$RUN/reg-cn.log"
echo wrong >"$RUN/wrong.pw"
bad_registry reg-badpw --etcd-ca-file "$PKI/ca.crt" --etcd-cert-file "$PKI/registry.crt" \
	--etcd-key-file "$PKI/registry.key" --etcd-user fluxlb-registry --etcd-password-file "$RUN/wrong.pw"
expect registry_wrong_password_refused grep -q 'kind=auth error="etcdserver: authentication failed' "$RUN/reg-badpw.log"
"$REG" --etcd "$EP" --etcd-password hunter2 >/dev/null 2>"$RUN/inline.err"
rc=$?
echo "  $(cat "$RUN/inline.err")"
expect registry_refuses_inline_password grep -q "exit 2: .*never given inline" <(echo "exit $rc: $(cat "$RUN/inline.err")")
expect no_password_in_logs bash -c "! grep -qF -e '$(cat "$PKI/registry.pw")' -e '$(cat "$PKI/fluxlbd.pw")' $RUN/*.log"

# ---- the registry over TLS with credentials ------------------------------------------------
bg_in_ns lb "$RUN/registry.log" "$REG" --listen 127.0.0.1:18500 --etcd "$EP" \
	--etcd-ca-file "$PKI/ca.crt" --etcd-cert-file "$PKI/registry.crt" --etcd-key-file "$PKI/registry.key" \
	--etcd-user fluxlb-registry --etcd-password-file "$PKI/registry.pw"
ready=""
for _ in $(seq 1 50); do
	ready=$(in_ns lb curl -s --max-time 3 http://127.0.0.1:18500/ready 2>/dev/null) && [ "$ready" = ready ] && break
	sleep 0.1
done
expect registry_ready_over_tls_with_credentials [ "$ready" = ready ]
backends_wait
for i in 1 2 3; do
	in_ns lb curl -sf -X PUT http://127.0.0.1:18500/v1/agent/service/register -d \
		"{\"ID\": \"web-$i\", \"Name\": \"web\", \"Address\": \"10.10.2.1$i\", \"Port\": 80, \"Check\": {\"HTTP\": \"http://10.10.2.1$i:80/health\", \"Interval\": \"1s\", \"Timeout\": \"1s\"}}" \
		>/dev/null || fail "register_web_$i" "the registry refused it"
done
passing=0
for _ in $(seq 1 100); do
	passing=$(in_ns lb curl -sf http://127.0.0.1:18500/v1/health/service/web?passing | json_get 'len(d)' 2>/dev/null)
	[ "$passing" = 3 ] && break
	sleep 0.1
done
expect registry_writes_reach_etcd [ "$(ctl get /fluxlb/services/web/ --prefix --keys-only | grep -c web-)" = 3 ]
expect registry_health_checks_pass [ "$passing" = 3 ]
expect registry_logged_in grep -q 'msg="etcd login succeeded".*user=fluxlb-registry' "$RUN/registry.log"

# ---- fluxlbd's etcd source over TLS with credentials ----------------------------------------
cp "$PKI/fluxlbd.pw" "$RUN/fluxlbd.pw"
cat >"$CONFIG" <<YAML
interfaces: [eth0]
node: {bpffs: $PIN_BASE}
metrics: {listen: 127.0.0.1:19100}
source:
  type: etcd
  endpoints: [$EP]
  ca_file: $PKI/ca.crt
  cert_file: $PKI/fluxlbd.crt
  key_file: $PKI/fluxlbd.key
  username: fluxlbd
  password_file: $RUN/fluxlbd.pw
services:
  - {name: web, vip: $VIP, port: 80, source_service: web}
YAML
sed 's|^  password_file: .*|  password: hunter2|' "$CONFIG" >"$RUN/inline.yaml"
out=$("$BIN/fluxlbd" --check-config "$RUN/inline.yaml" 2>&1)
echo "  $out"
expect fluxlbd_refuses_inline_password grep -q "never an inline password" <<<"$out"
daemon_start || { fail fluxlbd_ready_over_tls "fluxlbd did not become ready"; exit 1; }
pass fluxlbd_ready_over_tls
expect fluxlbd_logged_in grep -q 'msg="etcd login succeeded".*user=fluxlbd' "$DAEMON_LOG"
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
echo "  $r"
expect registered_backends_serve_traffic [ "$(echo "$r" | json_get 'd["ok"] == 60 and len(d["by_backend"]) == 3')" = True ]

# ---- a wrong password: refused, logged, counted; the last tables serve -----------------------
# The password is rotated in etcd but fluxlbd's file still holds the old
# one: etcd drops the user's tokens, and once the watch breaks (etcd
# restarted) fluxlbd must log in again, with the wrong password.
printf 'lb2-%s\n' "$RANDOM$RANDOM" >"$PKI/fluxlbd.pw"
ctl user passwd fluxlbd --interactive=false <"$PKI/fluxlbd.pw" >/dev/null
kill "$ETCD_PID"; stop_pid "$ETCD_PID"
etcd_start
etcd_wait || fail etcd_restarted "etcd did not come back"
expect wrong_password_logged wait_log 'kind=auth error="etcdserver: authentication failed, invalid user ID or password"' 1 15
expect source_down_logged wait_log 'registry unreachable; the last tables keep serving' 1 5
auth_failures() {
	in_ns lb curl -s http://127.0.0.1:19100/metrics | awk '/^fluxlb_etcd_failures_total\{kind="auth"\}/ {print $2}'
}
n=$(auth_failures)
echo "  fluxlb_etcd_failures_total{kind=\"auth\"} $n"
expect wrong_password_counted [ "${n:-0}" -ge 1 ]
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
expect last_good_state_keeps_serving [ "$(echo "$r" | json_get 'd["failed"] == 0 and d["ok"] == 60 and len(d["by_backend"]) == 3')" = True ]
expect no_password_in_daemon_log bash -c "! grep -qF -e '$(cat "$PKI/fluxlbd.pw")' -e '$(cat "$RUN/fluxlbd.pw")' '$DAEMON_LOG'"

# The Secret catches up (the new password in the file): picked up at the
# next retry, no restart.
up=$(grep -c 'msg="registry reachable"' "$DAEMON_LOG")
logins=$(grep -c 'msg="etcd login succeeded"' "$DAEMON_LOG")
cp "$PKI/fluxlbd.pw" "$RUN/fluxlbd.pw"
expect new_password_file_logs_in wait_log 'msg="etcd login succeeded"' $((logins + 1)) 10
expect source_up_again wait_log 'msg="registry reachable"' $((up + 1)) 10
t=$(grep -c 'msg="table updated"' "$DAEMON_LOG")
in_ns lb curl -sf -X PUT http://127.0.0.1:18500/v1/agent/service/deregister/web-2 >/dev/null
wait_log 'msg="table updated"' $((t + 1)) 10
r=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
echo "  after web-2 deregistered: $r"
expect change_after_relogin_applies [ "$(echo "$r" | json_get 'd["failed"] == 0 and "backend-2" not in d["by_backend"]')" = True ]
