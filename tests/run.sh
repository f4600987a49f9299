#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Runs every test tier and ends with the line "N passed, N failed, N skipped".
#   tests/run.sh            unit, bpf and e2e
#   tests/run.sh unit bpf   only those tiers
# Each test prints one line: PASS name, FAIL name or SKIP name: why.
# A test binary or script that dies without its result lines counts as a
# failure of its own.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TIERS=("$@")
[ ${#TIERS[@]} -eq 0 ] && TIERS=(unit bpf e2e)
LOG=$(mktemp /tmp/fluxlb-tests.XXXXXX)
trap 'rm -f "$LOG"' EXIT

run_one() { # name, command...
	local name=$1 rc
	shift
	echo "## $name"
	"$@" 2>&1 | tee -a "$LOG"
	rc=${PIPESTATUS[0]}
	# A non-zero exit is a failure line of its own: it also catches a
	# crash that printed no FAIL line.
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name: exited with status $rc" | tee -a "$LOG"
	fi
}

for tier in "${TIERS[@]}"; do
	case $tier in
	unit | bpf)
		for t in build/tests/$tier/test_*; do
			[ -x "$t" ] || continue
			run_one "$tier/$(basename "$t")" "$t"
		done
		;;
	e2e)
		for t in tests/e2e/test_*.sh; do
			[ -f "$t" ] || continue
			run_one "e2e/$(basename "$t" .sh)" bash "$t"
		done
		;;
	*)
		echo "unknown tier '$tier' (unit, bpf, e2e)" >&2
		exit 2
		;;
	esac
done

passed=$(grep -c '^PASS ' "$LOG")
failed=$(grep -c '^FAIL ' "$LOG")
skipped=$(grep -c '^SKIP ' "$LOG")
echo
grep '^FAIL ' "$LOG" | sed 's/^/  /'
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
