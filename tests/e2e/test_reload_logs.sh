#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# What a reload that cannot happen says, as docs/operating.md words it: a
# file that parses but cannot be applied (an interface that does not exist)
# is logged "reload rejected; the running state keeps serving" with the
# reason, like a file that does not parse; a deleted configuration file is
# a warning; both count as rejected reloads; the daemon keeps serving through all of it, and a restored file
# applies. Covers the log items of issue 13, problem 9.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbr$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip reload_logs "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

write_config() { # interfaces
	{
		echo "interfaces: [$1]"
		echo "node: {bpffs: $PIN_BASE}"
		echo "metrics: {listen: \"127.0.0.1:9464\"}"
		echo "services:"
		echo "  - name: web"
		echo "    vip: $VIP"
		echo "    port: 80"
		echo "    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]"
	} >"$CONFIG.tmp"
	mv "$CONFIG.tmp" "$CONFIG"
}
# fluxlb_config_reloads_total{result="rejected"} (the LB netns has its own loopback)
rejected() {
	in_ns lb curl -s --max-time 5 http://127.0.0.1:9464/metrics |
		sed -n 's/^fluxlb_config_reloads_total{result="rejected"} //p'
}
serves() {
	local s
	s=$(in_ns cl timeout 20 python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 20)
	[ "$(echo "$s" | json_get 'd["ok"] == 20 and len(d["by_backend"]) == 2' 2>&1)" = True ]
}

topo_up
write_config eth0
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }

write_config "eth0, nosuch0"
expect apply_failure_is_reload_rejected wait_log 'level=error msg="reload rejected; the running state keeps serving".*nosuch0' 1 3
grep 'reload' "$DAEMON_LOG" | sed 's/^/  log: /'
expect serves_after_apply_failure serves
expect apply_failure_counted [ "$(rejected)" = 1 ]

rm "$CONFIG"
expect deleted_file_is_a_warning wait_log 'level=warn msg="configuration file deleted; the running state keeps serving"' 1 3
grep 'deleted' "$DAEMON_LOG" | sed 's/^/  log: /'
expect keeps_running_without_file kill -0 "$DAEMON_PID"
expect deleted_file_counted [ "$(rejected)" = 2 ]
expect serves_without_file serves

write_config eth0
expect restored_file_applies wait_log 'msg="reloaded"' 1 3
expect serves_after_restore serves
