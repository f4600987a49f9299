#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# gen-man.sh PROGRAM INCLUDE OUT: the man page of PROGRAM, section 8, made
# by help2man from the program's own --help and --version (one source for
# the options), plus INCLUDE (dist/man/*.h2m: name, files, see also). For
# fluxlb, a COMMANDS section holds every command's `fluxlb help COMMAND`.
set -euo pipefail
prog=$1 include=$2 out=$3
name=$(basename "$prog")
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat "$include" >"$tmp"
if [ "$name" = fluxlb ]; then
	echo "[COMMANDS]" >>"$tmp"
	"$prog" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z]\+\( [a-z]\+\)\?\)  .*/\1/p' |
		while read -r cmd; do
			printf '.SS "fluxlb %s"\n.nf\n' "$cmd"
			# The command's --help without its first line's "Usage: " and
			# the exit status shared by all (in OPTIONS above); roff-escaped.
			"$prog" help $cmd | sed '/^Exit status:/,$d' | sed 's/\\/\\e/g; s/^\./\\\&./; s/^'"'"'/\\\&'"'"'/'
			printf '.fi\n'
		done >>"$tmp"
fi
mkdir -p "$(dirname "$out")"
help2man --no-info --section=8 --no-discard-stderr --include="$tmp" \
	--source=fluxlb --manual="System Administration" "$prog" >"$out.tmp"
mv "$out.tmp" "$out"
