#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# One daemon per pin folder, and maps that say what the daemon says. A second
# fluxlbd started on the same pins (with another configuration: no weight-4
# backend), or --cleanup, must exit 1 naming the first one's PID and touch
# nothing: the attached program and the pins stay, and new connections
# still reach every backend by weight. Then the maps are changed by hand
# with bpftool (a backend set down, a VIP added, slots of a Maglev table
# overwritten); SIGHUP must put back what the daemon wants and log what
# differed, also when the file it reads is broken. A SIGKILLed daemon leaves no lock behind, and the next start
# repairs too. Covers issue 13, problem 3.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbo$$
NBACKENDS=3
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip one_daemon "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
PIN=$PIN_BASE/v$("$BIN/fluxlbd" --version | sed -n 's/.*(abi v\([0-9]*\)).*/\1/p')
N=200

# write_config FILE "ADDR:WEIGHT ..."
write_config() {
	local f=$1
	shift
	{
		echo "interfaces: [eth0]"
		echo "node: {bpffs: $PIN_BASE}"
		echo "services:"
		echo "  - name: web"
		echo "    vip: $VIP"
		echo "    port: 80"
		echo "    backends:"
		for b in "$@"; do
			echo "      - {address: ${b%:*}, weight: ${b#*:}}"
		done
	} >"$f"
}
le32() { echo "$(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255))"; }
prog_id() { in_ns lb ip -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])'; }
be_field() { flb -j backend list | json_get "[b['$2'] for b in d['backends'] if b['address'] == '$1'][0]"; }
web() { flb -j vip list | json_get "[v['$1'] for v in d['vips'] if v['vip'].startswith('$VIP:80')][0]"; }
# N new connections: every backend takes some, backend-3 (weight 4 of 6)
# about two thirds (Maglev's weights are not exact: honest margins).
by_weight() {
	local s
	s=$(in_ns cl timeout 30 python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 $N)
	[ -n "$s" ] || { echo "  $1: spread did not finish in 30 s"; return 1; }
	echo "  $1: $(echo "$s" | json_get 'd["ok"], d["failed"], d["by_backend"]')"
	[ "$(echo "$s" | json_get "d['ok'] == $N and all(d['by_backend'].get('backend-%d' % i, 0) >= $N // 20 for i in (1, 2)) and 0.5 * $N <= d['by_backend'].get('backend-3', 0) <= 0.85 * $N")" = True ]
}

topo_up
write_config "$CONFIG" 10.10.2.11:1 10.10.2.12:1 10.10.2.13:4
backends_wait
daemon_start || { fail daemon_ready "fluxlbd did not become ready"; exit 1; }
expect traffic_by_weight by_weight "first daemon"
PROG=$(prog_id)

# The second daemon: same pins, another configuration (backend 3 missing).
write_config "/run/$TOPO/second.yaml" 10.10.2.11:1 10.10.2.12:1
in_ns lb timeout 5 "$BIN/fluxlbd" --config "/run/$TOPO/second.yaml" >"/run/$TOPO/second.log" 2>&1
rc=$?
echo "  second daemon: exit $rc: $(grep -v '^$' "/run/$TOPO/second.log" | tail -n 1)"
expect second_daemon_exits_1 [ "$rc" = 1 ]
expect second_daemon_names_first_pid grep -q "pid=$DAEMON_PID\b" "/run/$TOPO/second.log"
expect second_daemon_attaches_nothing [ "$(prog_id)" = "$PROG" ]
expect second_daemon_writes_nothing bash -c "! grep -q 'state applied\|attached\|table updated' /run/$TOPO/second.log"
in_ns lb "$BIN/fluxlbd" --cleanup --config "$CONFIG" >"/run/$TOPO/cleanup.log" 2>&1
expect cleanup_refused_while_running [ "$?" = 1 ]
expect cleanup_removes_nothing [ "$(prog_id)" = "$PROG" -a -e "$PIN/flb_backends" ]
expect first_daemon_keeps_running kill -0 "$DAEMON_PID"
expect first_daemon_keeps_serving_by_weight by_weight "after the second daemon"

# By hand: backend 3 set down (state 3), and a VIP nobody configured.
ID3=$(be_field 10.10.2.13 id)
set_down() {
	local v
	v=$(bpftool -j map lookup pinned "$PIN/flb_backends" key $(le32 "$1") |
		python3 -c 'import json,sys; v=[int(x, 16) for x in json.load(sys.stdin)["value"]]; v[21] = 3; print(" ".join(map(str, v)))')
	bpftool map update pinned "$PIN/flb_backends" key $(le32 "$1") value $v
}
set_down "$ID3"
bpftool map update pinned "$PIN/flb_vips" key 10 100 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 80 6 1 value $(le32 "$(web id)") 0 0 0 0
echo "  by hand: backend 3 is $(be_field 10.10.2.13 state); VIPs: $(flb -j vip list | json_get '[v["vip"] for v in d["vips"]]')"
# The edits must have taken, or the repairs below would prove nothing.
expect backend_set_down_by_hand [ "$(be_field 10.10.2.13 state)" = down ]
expect foreign_vip_added_by_hand [ "$(flb -j vip list | json_get 'len(d["vips"])')" = 2 ]
kill -HUP "$DAEMON_PID"
expect sighup_reloads wait_log 'msg="reloaded"' 1
expect sighup_repairs_backend [ "$(be_field 10.10.2.13 state)" = active ]
expect sighup_logs_backend grep -q "repair.*map=flb_backends id=$ID3 " "$DAEMON_LOG"
expect sighup_removes_foreign_vip [ "$(flb -j vip list | json_get 'len(d["vips"])')" = 1 ]

# By hand: the first 40 slots of web's table name backend 1 (bpftool takes
# ~50 ms per update here: not the whole table).
FP=$(web fingerprint)
INNER=$(bpftool -j map lookup pinned "$PIN/flb_rings" key $(le32 "$(web id)") |
	python3 -c 'import json,sys; v=json.load(sys.stdin)["value"]; print(v if isinstance(v, int) else int.from_bytes(bytes(int(x, 16) for x in v), "little"))')
ID1=$(be_field 10.10.2.11 id)
for i in $(seq 1 40); do echo "map update id $INNER key $(le32 "$i") value $(le32 "$ID1")"; done >"/run/$TOPO/ring.batch"
bpftool batch file "/run/$TOPO/ring.batch" >/dev/null
echo "  by hand: table fingerprint $FP -> $(web fingerprint)"
expect table_changed_by_hand [ "$(web fingerprint)" != "$FP" ]
kill -HUP "$DAEMON_PID"
expect second_sighup_reloads wait_log 'msg="reloaded"' 2
expect sighup_repairs_table [ "$(web fingerprint)" = "$FP" ]
expect sighup_logs_table grep -q 'repair.*map=flb_rings' "$DAEMON_LOG"
expect traffic_by_weight_after_repair by_weight "after the repairs"

# A file that SIGHUP finds broken is rejected, and the maps are repaired anyway.
cp "$CONFIG" "/run/$TOPO/good.yaml"
echo "services: [ {name: web" >"$CONFIG.tmp" && mv "$CONFIG.tmp" "$CONFIG"
expect broken_file_rejected wait_log 'reload rejected' 1
set_down "$ID3"
expect backend_set_down_by_hand_again [ "$(be_field 10.10.2.13 state)" = down ]
kill -HUP "$DAEMON_PID"
expect broken_file_sighup_rejected wait_log 'reload rejected' 2
expect broken_file_sighup_repairs [ "$(be_field 10.10.2.13 state)" = active ]
mv "/run/$TOPO/good.yaml" "$CONFIG"
expect good_file_applies wait_log 'msg="reloaded"' 3

# A start reads everything back too: backend 3 down by hand, then SIGKILL
# (the kernel drops the lock with the process) and a new daemon.
set_down "$ID3"
expect backend_set_down_before_sigkill [ "$(be_field 10.10.2.13 state)" = down ]
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
expect start_after_sigkill daemon_start
expect start_repairs_backend [ "$(be_field 10.10.2.13 state)" = active ]
expect start_logs_backend grep -q "start: the map differs.*map=flb_backends id=$ID3 " "$DAEMON_LOG"
grep 'repair\|start: the map' "$DAEMON_LOG" | sed 's/^/  log: /'
