#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# fluxlbd --check-config runs the validator apply runs: files the daemon
# would refuse at apply time are refused here, with exit status 1 and the
# file, line and key of the problem. No root needed: nothing is loaded.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/bin
source "$ROOT/tests/lib/e2e.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# check NAME FILE PATTERN: exit 1 and the message names the problem.
check_refused() {
	local name=$1 file=$2 pat=$3 out rc
	out=$("$BIN/fluxlbd" --check-config "$file" 2>&1); rc=$?
	if [ "$rc" = 1 ] && echo "$out" | grep -q -- "$pat"; then
		pass "$name"
	else
		fail "$name" "rc=$rc out=$(echo "$out" | head -c 300)"
	fi
}

cat >"$TMP/v6-with-v4.yaml" <<'YAML'
interfaces: [eth0]
services:
  - name: web6
    vip: "fd00:100::1"
    port: 80
    backends:
      - address: "fd00:10:2::11"
      - address: 10.10.2.12
YAML
check_refused ipv6_vip_with_ipv4_backend_refused "$TMP/v6-with-v4.yaml" \
	'v6-with-v4.yaml:8: services\[0\].backends\[1\].address: .*IPv6 VIP'

# 3 services x 2731 distinct addresses: 8193 backends, the maps hold 8191.
python3 - "$TMP/too-many.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("interfaces: [eth0]\nservices:\n")
    n = 0
    for s in range(3):
        f.write("  - name: s%d\n    vip: 10.100.0.%d\n    port: 80\n    table_size: 65537\n    backends:\n" % (s, s + 1))
        for _ in range(2731):
            f.write("      - address: 10.%d.%d.%d\n" % (20 + n // 65536, n // 256 % 256, n % 256))
            n += 1
PY
check_refused more_distinct_backends_than_ids_refused "$TMP/too-many.yaml" \
	'too-many.yaml:[0-9]*: services\[2\].*8191'

# The same addresses shared by services count once: accepted.
python3 - "$TMP/shared.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("interfaces: [eth0]\nservices:\n")
    for s in range(3):
        f.write("  - name: s%d\n    vip: 10.100.0.%d\n    port: 80\n    table_size: 65537\n    backends:\n" % (s, s + 1))
        for n in range(4000):
            f.write("      - address: 10.20.%d.%d\n" % (n // 256, n % 256))
PY
out=$("$BIN/fluxlbd" --check-config "$TMP/shared.yaml" 2>&1); rc=$?
expect shared_addresses_count_once [ "$rc" = 0 ]
