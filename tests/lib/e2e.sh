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
