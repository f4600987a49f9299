#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make demo` as a user runs it (the script behind it, without the install
# step): three backends answer, IPv6 too, and nothing is left behind.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip demo "needs root (netns, XDP)"
	exit 0
fi
out=$(bash "$ROOT/scripts/demo.sh" 2>&1); rc=$?
echo "$out" | grep -E 'answered|backend-[0-9] ' | sed 's/^/  /'
expect demo_exits_0 [ "$rc" = 0 ]
expect demo_answers_all_300 grep -q 'answered: 300, failed: 0' <<<"$out"
expect demo_three_backends_answer [ "$(grep -cE '^   backend-[123] +[0-9]+ ' <<<"$out")" = 3 ]
expect demo_ipv6_answers_all grep -q 'answered: 90, failed: 0, by backend: backend-1' <<<"$out"
expect demo_leaves_no_namespace sh -c "! ip netns list | grep -q '^flbdemo'"
