#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench BASELINE=<git ref>`: this build's balancer against the one of
# <ref>, path by path, interleaved in the same run, with the ratio
# (this ÷ baseline) per path. Prints its tables; writes no file.
#   bench/ab.sh <ref>        (after `make bench-build`)
# Environment: BENCH_ROUNDS (rounds, default 21, at least 21 is what the
# issue asks of a claim).
#
# <ref> is checked out in a scratch worktree under /tmp and built there
# (its own Makefile, its own build/); the worktree goes away in the EXIT
# trap, also on failure or Ctrl-C.
#
# Two modes, chosen by the map ABI (FLB_ABI_VERSION in include/flb_abi.h):
#  - same ABI: in-process. Only <ref>'s balancer object is built; this
#    build's bench_dp loads it over the same maps (-b) and times both on
#    every path in every round, order alternating by round.
#  - different ABI (the objects cannot share maps): two processes. <ref>'s
#    own bench_dp is built too; each round runs one single-round bench_dp of
#    each side, alternating which goes first, and the rows of their
#    per-packet tables (path | proof | min | median, the format bench_dp has
#    printed since issue 8) are paired by path name. Each process sets up its
#    own namespace and maps, so its one round starts cold: both sides pay
#    that alike, but the spread is wider than in-process.
# Paths are compared only when both sides have a number for them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
REF=${1:?usage: bench/ab.sh <git ref>}
ROUNDS=${BENCH_ROUNDS:-21}
B=build/bench
WT=
TMP=

cleanup() {
	local rc=$?
	if [ -n "$WT" ]; then
		git worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF, network namespaces)" >&2
	exit 1
fi
SHA=$(git rev-parse --verify --quiet "$REF^{commit}") ||
	{ echo "bench: BASELINE=$REF is not a commit here" >&2; exit 2; }
abi_of() { sed -n 's/^#define FLB_ABI_VERSION \([0-9]*\).*/\1/p'; }
ABI_NEW=$(abi_of <include/flb_abi.h)
ABI_BASE=$(git show "$SHA:include/flb_abi.h" 2>/dev/null | abi_of || true)
[ -n "$ABI_BASE" ] || ABI_BASE=unknown
TMP=$(mktemp -d /tmp/flbab$$.XXXXXX)
WT=$TMP/tree
echo "bench: building $REF ($(git rev-parse --short "$SHA")) in $WT" >&2
git worktree add --detach --quiet "$WT" "$SHA"

DESC="$REF ($(git rev-parse --short "$SHA"), map ABI v$ABI_BASE) against this build ($(git describe --always --dirty), map ABI v$ABI_NEW)"

in_process() {
	make -C "$WT" -s -j2 build/bpf/balancer.bpf.o >&2
	echo "### A/B: $DESC"
	echo
	echo "Mode: **in-process** (same map ABI): this build's bench_dp loads the baseline's"
	echo "balancer object over the same maps and times both on every path in every round,"
	echo "which one goes first alternating by round."
	echo
	"$B/bench_dp" -r "$ROUNDS" -b "$WT/build/bpf/balancer.bpf.o"
}

# Per-packet table of one bench_dp run -> "path<TAB>median" for rows with a
# number. Stops at the next heading after the table.
rows() {
	awk -F' \\| ' '
		/^### / { if (seen) exit; if (/Per-packet cost/) seen = 1; next }
		seen && /^\| / && !/^\| path \|/ && !/^\|---/ {
			name = substr($1, 3)
			if ($4 ~ /^-?[0-9.]+( \|)?$/) { v = $4; sub(/ \|$/, "", v); print name "\t" v }
		}' "$1"
}

two_process() {
	make -C "$WT" -s -j2 build/bench/bench_dp >&2
	local r side first second
	: >"$TMP/all.tsv"
	echo "bench: $ROUNDS rounds, one single-round bench_dp of each side per round" >&2
	for ((r = 0; r < ROUNDS; r++)); do
		if ((r % 2)); then first=base second=new; else first=new second=base; fi
		for side in $first $second; do
			if [ $side = new ]; then
				"$B/bench_dp" -r 1 >"$TMP/out" 2>"$TMP/err" ||
					{ cat "$TMP/err" >&2; echo "bench: this build's bench_dp failed" >&2; exit 1; }
			else
				"$WT/build/bench/bench_dp" -r 1 >"$TMP/out" 2>"$TMP/err" ||
					{ cat "$TMP/err" >&2; echo "bench: the baseline's bench_dp failed" >&2; exit 1; }
			fi
			rows "$TMP/out" | sed "s/^/$r\t$side\t/" >>"$TMP/all.tsv"
		done
	done
	echo "### A/B: $DESC"
	echo
	echo "Mode: **two processes** (map ABI v$ABI_BASE and v$ABI_NEW differ, so the objects cannot"
	echo "share maps): each of $ROUNDS rounds runs one single-round bench_dp of each build,"
	echo "which one goes first alternating by round; rows paired by path name. Each process"
	echo "builds its own namespace, maps and tables, so the spread is wider than in-process."
	echo
	echo "| path | baseline median ns | this median ns | ratio of medians | median of per-round ratios | rounds |"
	echo "|---|---:|---:|---:|---:|---:|"
	awk -F'\t' '
		function median(a, n,   i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		{ v[$1, $2, $3] = $4; if (!($3 in order)) { order[$3] = ++np; name[np] = $3 }
		  if ($1 + 1 > nr) nr = $1 + 1; has[$2, $3] = 1 }
		END {
			for (p = 1; p <= np; p++) {
				k = name[p]
				if (!has["new", k] || !has["base", k]) { only[has["new", k] ? "new" : "base"] = only[has["new", k] ? "new" : "base"] "; " k; continue }
				n = 0; pos = 1; delete a; delete b; delete q
				for (r = 0; r < nr; r++)
					if (((r SUBSEP "new" SUBSEP k) in v) && ((r SUBSEP "base" SUBSEP k) in v)) {
						n++; a[n] = v[r, "base", k]; b[n] = v[r, "new", k]
						if (a[n] > 0) q[n] = b[n] / a[n]; else pos = 0
					}
				mb = median(a, n); mn = median(b, n)
				printf "| %s | %.1f | %.1f | %s | %s | %d |\n", k, mb, mn,
					(mb > 0 ? sprintf("%.3f", mn / mb) : "-"),
					(pos ? sprintf("%.3f", median(q, n)) : "-"), n
			}
			print ""
			if (only["new"] != "") print "Only this build has a number for: " substr(only["new"], 3) "."
			if (only["base"] != "") print "Only the baseline has a number for: " substr(only["base"], 3) "."
			print "Rows without a number on one side (n/a, or a path one side lacks) are not compared;"
			print "the floors (empty program, parse-only) are the same code on both sides: their"
			print "ratios show how much two processes differ by themselves."
		}' "$TMP/all.tsv"
	echo
}

if [ "$ABI_BASE" = "$ABI_NEW" ]; then
	in_process
else
	two_process
fi
