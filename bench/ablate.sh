#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make bench-ablate`: where each path's time goes. For every ablation
# (an object built from bpf/ with bench/ablate.patch and -DABL_<NAME>, which
# leaves one step out), bench_dp times this build and the ablated object on
# the same maps, interleaved (-b), and this prints, per path, this build's
# cost ÷ the ablated one's (median of per-round ratios): 1.25 means the step
# is 20 % of the path. A path an ablation cannot take prints "n/a" (its
# counters did not prove the path). Prints tables only; writes no file.
#   bench/ablate.sh <folder of NAME.bpf.o> NAME...
# Environment: BENCH_ROUNDS (default 21).
#
#   NOVIP    no VIP lookup (VIP id 0)        NOCT     no conntrack lookup (a fixed entry)
#   NOSTATS  no VIP/backend traffic counters  NONH     no next-hop step (no cache, no FIB)
#   NOENCAP  no outer header                  NOSYNCT  a SYN does not look up its entry
#   NOMAGLEV no Maglev table read (backend 1) NOINSERT no conntrack insert
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:?usage: bench/ablate.sh <folder> NAME...}
shift
ROUNDS=${BENCH_ROUNDS:-21}
TMP=$(mktemp -d /tmp/flbabl$$.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

for v; do
	echo "bench: ablation $v, $ROUNDS rounds" >&2
	build/bench/bench_dp -r "$ROUNDS" -b "$DIR/$v.bpf.o" >"$TMP/$v.out" 2>"$TMP/$v.err" ||
		{ cat "$TMP/$v.err" >&2; echo "bench: bench_dp failed on $v" >&2; exit 1; }
	# The interleaved table: path -> median of per-round ratios (or n/a).
	awk -F' \\| ' '
		/^### This build against the baseline/ { seen = 1; next }
		seen && /^\| / && !/^\| path \|/ && !/^\|---/ {
			name = substr($1, 3); v = $5; sub(/ \|$/, "", v)
			print name "\t" (v ~ /^[0-9.]+$/ ? v : "n/a")
		}' "$TMP/$v.out" >"$TMP/$v.tsv"
done

echo "### Where the time goes: this build ÷ the build without one step ($ROUNDS rounds each)"
echo
printf '| path |'; for v; do printf ' %s |' "$v"; done; echo
printf '|---|'; for v; do printf -- '---:|'; done; echo
cut -f1 "$TMP/$1.tsv" | while IFS= read -r path; do
	printf '| %s |' "$path"
	for v; do printf ' %s |' "$(awk -F'\t' -v p="$path" '$1 == p { print $2 }' "$TMP/$v.tsv")"; done
	echo
done
echo
echo "Each column is one bench_dp run of this build against the ablated object, interleaved"
echo "on the same maps; a cell is the median over rounds of (this ÷ ablated). Loads: $(cut -d' ' -f1-3 /proc/loadavg)."
