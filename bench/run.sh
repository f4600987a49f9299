#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench`: runs the three benchmarks, prints their tables and rewrites
# docs/BENCHMARKS.md with the machine, the method and the results.
#   bench/run.sh [dp] [fwd] [cp]     (default: all three)
# Environment: BENCH_ROUNDS (per-packet and control plane rounds, default
# 21), BENCH_FWD_ROUNDS (3), BENCH_FWD_SECS (2), BENCH_DOC (where to write
# the results page; default docs/BENCHMARKS.md, "-" for nowhere).
#
# Everything it creates carries the name flbb$$ and goes away in the EXIT
# trap, also on failure or Ctrl-C: two network namespaces (the veth pair
# and iptables rules live and die in them) and a scratch folder. bench_dp
# makes its own namespace with unshare, which dies with it; nothing is
# pinned. Traffic never leaves those namespaces.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
B=build/bench
ID=flbb$$
GEN=$ID-gen
LB=$ID-lb
TMP=$(mktemp -d "/tmp/$ID.XXXXXX")
PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(dp fwd cp)
ROUNDS=${BENCH_ROUNDS:-21}
DOC=${BENCH_DOC:-docs/BENCHMARKS.md}

CHILD=
cleanup() {
	local rc=$?
	# A benchmark still running (interrupted): stop it before its namespaces go.
	if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill -TERM "$CHILD" 2>/dev/null
		wait "$CHILD" 2>/dev/null || true
	fi
	ip netns del "$GEN" 2>/dev/null || true
	ip netns del "$LB" 2>/dev/null || true
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF, network namespaces)" >&2
	exit 1
fi
# The iptables baseline needs iptables; install it like scripts/install-deps.sh does.
if ! command -v iptables >/dev/null; then
	echo "bench: installing iptables (the DNAT baseline)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables >/dev/null; }
fi

topo_up() {
	local g="ip -n $GEN" l="ip -n $LB" i
	ip netns add "$GEN"
	ip netns add "$LB"
	$g link set lo up
	$l link set lo up
	$g link add g0 address 02:00:00:00:0b:01 type veth peer name l0 address 02:00:00:00:0b:02 netns "$LB"
	$g addr add 10.10.1.2/24 dev g0
	$g link set g0 up
	$l addr add 10.10.1.1/24 dev l0
	$l link set l0 up
	# Backends are reached back out l0 (next hop: the generator's side,
	# where bf_sink counts them): one NIC, as most LB nodes have.
	$l route add 10.10.2.0/24 dev l0
	for i in 11 12 13; do
		$l neigh add 10.10.2.$i lladdr 02:00:00:00:0b:01 dev l0 nud permanent
	done
	ip netns exec "$LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.l0.rp_filter=0 \
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.l0.send_redirects=0
	# kube-proxy style: PREROUTING jumps to a service chain that picks an
	# endpoint with the statistic module and DNATs to it.
	ip netns exec "$LB" sh -ec '
		iptables -t nat -N FLBB-SVC
		iptables -t nat -A FLBB-SVC -m statistic --mode random --probability 0.33333 -j DNAT --to-destination 10.10.2.11
		iptables -t nat -A FLBB-SVC -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.10.2.12
		iptables -t nat -A FLBB-SVC -j DNAT --to-destination 10.10.2.13
		iptables -t nat -A PREROUTING -d 10.100.0.1/32 -p udp --dport 80 -j FLBB-SVC
		iptables -t nat -A PREROUTING -d 10.100.0.1/32 -p tcp --dport 80 -j FLBB-SVC'
	# The generator leaves TCP checksums at 0; conntrack would call those
	# packets invalid and skip NAT. Only after a NAT rule exists is the
	# conntrack sysctl there.
	ip netns exec "$LB" sysctl -qw net.netfilter.nf_conntrack_checksum=0
}

run_part() { # name, command...
	local name=$1
	shift
	echo "== $name" >&2
	local t0=$SECONDS
	# In the background so that a signal reaches our trap at once.
	"$@" >"$TMP/$name.md" &
	CHILD=$!
	if wait "$CHILD"; then
		CHILD=
		echo "   ($((SECONDS - t0)) s)" >&2
	else
		local rc=$?
		CHILD=
		[ $rc -gt 128 ] && exit $rc
		echo "bench: $name failed (exit $rc); its output so far:" >&2
		echo "_${name}: failed, see the run's stderr._" >>"$TMP/$name.md"
	fi
	cat "$TMP/$name.md"
}

START=$SECONDS
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
for p in "${PARTS[@]}"; do
	case $p in
	dp) run_part dp "$B/bench_dp" -r "$ROUNDS" -p "$B/bpf/balancer_pcpu.bpf.o" -s build/bpf/balancer.bpf.o ;;
	fwd)
		topo_up
		run_part fwd "$B/bench_fwd" -g "$GEN" -l "$LB" -r "${BENCH_FWD_ROUNDS:-3}" -s "${BENCH_FWD_SECS:-2}"
		ip netns del "$GEN"
		ip netns del "$LB"
		;;
	cp) run_part cp "$B/bench_cp" -r "$ROUNDS" ;;
	*) echo "bench: unknown part '$p' (dp, fwd, cp)" >&2; exit 2 ;;
	esac
done
echo "bench: done in $((SECONDS - START)) s" >&2

[ "$DOC" = - ] && exit 0
# The commit measured; "-dirty" when anything but the page itself differs
# from it (the page is rewritten by every run, so it would always count).
COMMIT=$(git describe --always 2>/dev/null || echo '?')
[ -n "$(git status --porcelain -- . ":!$DOC" 2>/dev/null)" ] && COMMIT=$COMMIT-dirty
mkdir -p "$(dirname "$DOC")"
{
	sed -n '/^<!-- method -->/,/^<!-- results -->/p' bench/BENCHMARKS.in.md | sed '1d;$d' |
		sed -e "s|@DATE@|$(date -u '+%Y-%m-%d %H:%M UTC')|" \
		    -e "s|@CPU@|$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')|" \
		    -e "s|@NPROC@|$(nproc)|" -e "s|@KERNEL@|$(uname -r)|" \
		    -e "s|@MEM@|$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)|" \
		    -e "s|@CLANG@|$(clang --version | head -1)|" \
		    -e "s|@LIBBPF@|$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null || echo '?')|" \
		    -e "s|@COMMIT@|$COMMIT|" \
		    -e "s|@SECS@|$((SECONDS - START))|" \
		    -e "s|@LOAD@|$LOAD0 when it began, $(cut -d' ' -f1 /proc/loadavg) when it ended|"
	for p in "${PARTS[@]}"; do
		cat "$TMP/$p.md"
	done
} >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
echo "bench: wrote $DOC" >&2
