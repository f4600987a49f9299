#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A mounted ConfigMap, as the kubelet lays it out: the file is a link
# through "..data" to a timestamped folder, and an update writes a new
# folder and swaps "..data" by rename. fluxlbd must reload on that swap
# (the file's own name sees no event), without a restart: the DaemonSet
# rolls no pod for a configuration change.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbcm$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip configmap_reload "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

CM=/run/$TOPO/cm
# version NAME BACKENDS...: the ConfigMap's data in its own folder.
version() {
	local name=$1
	shift
	mkdir -p "$CM/..$name"
	{
		echo "interfaces: [eth0]"
		echo "node: {bpffs: $PIN_BASE}"
		echo "services:"
		echo "  - name: web"
		echo "    vip: $VIP"
		echo "    port: 80"
		echo "    backends:"
		for b in "$@"; do echo "      - {address: $b}"; done
	} >"$CM/..$name/fluxlbd.yaml"
}
state_of() { flb -j backend list | json_get "([b['state'] for b in d['backends'] if b['address'] == '$1'] + ['gone'])[0]"; }

topo_up
version 2026_12_02_1 10.10.2.11 10.10.2.12
ln -s ..2026_12_02_1 "$CM/..data"
ln -s ..data/fluxlbd.yaml "$CM/fluxlbd.yaml"
backends_wait
daemon_start "$CM/fluxlbd.yaml" || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
pid=$DAEMON_PID
expect both_backends_active [ "$(state_of 10.10.2.12)" = active ]

# The kubelet's update: a new folder, a new "..data" link renamed over the old.
version 2026_12_02_2 10.10.2.11
ln -s ..2026_12_02_2 "$CM/..data_tmp"
mv -T "$CM/..data_tmp" "$CM/..data"
rm -rf "$CM/..2026_12_02_1"
expect symlink_swap_reloads wait_log 'msg="reloaded"' 1
grep 'reloaded' "$DAEMON_LOG" | sed 's/^/  log: /'
# It had no connection: its drain may be over by now (then it is gone).
expect removed_backend_drains grep -q 'backend draining' "$DAEMON_LOG"
expect removed_backend_not_active [ "$(state_of 10.10.2.12 2>/dev/null)" != active ]
expect same_daemon kill -0 "$pid"
