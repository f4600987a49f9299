#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A 3-member etcd cluster on loopback for tests: ports and data folders are
# unique to the run, and `stop` removes every trace of it.
#
#   scripts/etcd-cluster.sh start DIR      create DIR, start 3 members, wait until healthy;
#                                          prints the client endpoints (comma-separated)
#   scripts/etcd-cluster.sh endpoints DIR  the client endpoints again
#   scripts/etcd-cluster.sh kill DIR N     SIGKILL member N (1..3); its data stays
#   scripts/etcd-cluster.sh stop-all DIR   SIGTERM every member; data stays (restartable)
#   scripts/etcd-cluster.sh restart DIR [N] start member N (default: every stopped member)
#   scripts/etcd-cluster.sh leader DIR     the number (1..3) of the current raft leader
#   scripts/etcd-cluster.sh stop DIR       stop every member and remove DIR
#
# DIR must not exist before `start` (it is the run's own folder, e.g. from
# mktemp -u). Member N listens for clients on 127.0.0.1:$BASE+2N-2 and for
# peers on $BASE+2N-1, BASE picked at random among free ports. Logs go to
# DIR/mN.log; `stop` prints nothing of them (the caller may cat them first).
set -euo pipefail

ETCD=${ETCD:-etcd}
ETCDCTL=${ETCDCTL:-etcdctl}
die() { echo "etcd-cluster: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: $0 start|endpoints|kill|stop-all|restart|leader|stop DIR [N]"
CMD=$1
DIR=$2

port_used() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

endpoints() {
	local base
	base=$(cat "$DIR/base")
	echo "http://127.0.0.1:$base,http://127.0.0.1:$((base + 2)),http://127.0.0.1:$((base + 4))"
}

member_alive() { [ -f "$DIR/m$1.pid" ] && kill -0 "$(cat "$DIR/m$1.pid")" 2>/dev/null; }

start_member() { # N
	local n=$1 base cluster="" i
	base=$(cat "$DIR/base")
	for i in 1 2 3; do
		cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 2 * i - 1))"
	done
	local c=$((base + 2 * n - 2)) p=$((base + 2 * n - 1))
	# setsid: the member must not get the terminal's signals (a test's ^C
	# goes to the test, whose trap stops the cluster in order).
	setsid "$ETCD" --name "m$n" --data-dir "$DIR/m$n.data" \
		--listen-client-urls "http://127.0.0.1:$c" \
		--advertise-client-urls "http://127.0.0.1:$c" \
		--listen-peer-urls "http://127.0.0.1:$p" \
		--initial-advertise-peer-urls "http://127.0.0.1:$p" \
		--initial-cluster "$cluster" \
		--initial-cluster-token "$(cat "$DIR/token")" \
		--initial-cluster-state new \
		--logger zap --log-outputs "$DIR/m$n.log" \
		</dev/null >>"$DIR/m$n.log" 2>&1 &
	echo $! >"$DIR/m$n.pid"
}

# Waits until a quorum answers a linearizable read (max ~15 s).
wait_healthy() {
	for _ in $(seq 1 150); do
		if ETCDCTL_API=3 "$ETCDCTL" --endpoints "$(endpoints)" --command-timeout=1s \
			get /etcd-cluster-probe >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

stop_member() { # N SIGNAL
	local n=$1 sig=$2 pid
	member_alive "$n" || return 0
	pid=$(cat "$DIR/m$n.pid")
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	# reap nothing: the member is not our child; wait until it is gone
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$DIR/m$n.pid"
}

case $CMD in
start)
	[ -e "$DIR" ] && die "$DIR exists"
	command -v "$ETCD" >/dev/null || die "etcd not found (apt-get install etcd-server)"
	mkdir -p "$DIR"
	chmod 700 "$DIR"
	echo "flb-$$-$RANDOM" >"$DIR/token"
	for _ in $(seq 1 50); do
		base=$((20000 + (RANDOM * 32768 + RANDOM) % 20000 * 2))
		ok=1
		for off in 0 1 2 3 4 5; do
			port_used $((base + off)) && ok=0
		done
		[ $ok = 1 ] && break
	done
	[ $ok = 1 ] || die "no free ports"
	echo "$base" >"$DIR/base"
	for n in 1 2 3; do start_member "$n"; done
	wait_healthy || die "cluster did not become healthy (logs in $DIR)"
	endpoints
	;;
endpoints)
	endpoints
	;;
kill)
	stop_member "$3" KILL
	;;
stop-all)
	for n in 1 2 3; do stop_member "$n" TERM; done
	;;
restart)
	for n in ${3:-1 2 3}; do
		member_alive "$n" || start_member "$n"
	done
	wait_healthy || die "cluster did not become healthy again (logs in $DIR)"
	;;
leader)
	base=$(cat "$DIR/base")
	for n in 1 2 3; do
		member_alive "$n" || continue
		if ETCDCTL_API=3 "$ETCDCTL" --endpoints "http://127.0.0.1:$((base + 2 * n - 2))" \
			--command-timeout=1s -w json endpoint status 2>/dev/null |
			python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(s["leader"] != s["header"]["member_id"])'; then
			echo "$n"
			exit 0
		fi
	done
	exit 1
	;;
stop)
	[ -d "$DIR" ] || exit 0
	for n in 1 2 3; do stop_member "$n" KILL; done
	rm -rf "$DIR"
	;;
*)
	die "unknown command $CMD"
	;;
esac
