#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Inspection with the DaemonSet's own capabilities (issue 19): the CLI's
# `vip list`, `backend list` and `which` run under exactly the capabilities
# deploy/daemonset/fluxlbd.yaml grants (setpriv: that bounding set, no
# inheritable ones, no_new_privs), read every map through its pin (the
# Maglev tables under <pin>/rings/<vip_id>) and print the topology's VIPs
# and backends. Then: a reload that removes a VIP removes its table's pin;
# pins removed (the layout of a fluxlbd before the table pins) make the CLI
# fail with a hint, and a restarted fluxlbd pins the tables again. Last, the
# documented bpftool recipe (docs/operating.md): with the pod's
# capabilities bpftool dumps the tables' pins (no BTF: numbers), and with
# CAP_SYS_ADMIN added (kubectl debug --profile=sysadmin) every BTF-typed
# map with field names; flb_state has no BTF (hex dump).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbi$$
NBACKENDS=2
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	skip inspect_caps "needs root and setpriv (netns, XDP)"
	exit 0
fi
trap topo_down EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

# The fluxlbd container's capabilities.add in the DaemonSet, e.g. BPF NET_ADMIN PERFMON.
read -ra CAPS <<<"$(python3 -c '
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "DaemonSet":
        for c in doc["spec"]["template"]["spec"]["containers"]:
            if c["name"] == "fluxlbd":
                sc = c["securityContext"]["capabilities"]
                assert sc.get("drop") == ["ALL"], sc
                print(" ".join(sc["add"]))' "$ROOT/deploy/daemonset/fluxlbd.yaml")"
echo "  DaemonSet capabilities: ${CAPS[*]}"
SET=-all
for c in "${CAPS[@]}"; do SET+=",+${c,,}"; done
# pod CMD...: CMD in the LB namespace with exactly the DaemonSet's capabilities.
pod() { in_ns lb setpriv --no-new-privs --inh-caps=-all --bounding-set="$SET" "$@"; }
podflb() { pod "$BIN/fluxlb" --bpffs "$PIN_BASE" "$@"; }

topo_up
topo_config
# A third VIP whose backend has a long IPv6 address (no server needed:
# only the columns are checked).
printf '  - {name: long6, vip: "fd00:100::2", port: 443, backends: [{address: "fd00:1234:5678:9abc:def0:1234:5678:9abc"}]}\n' >>"$CONFIG"
daemon_start || { fail daemon_ready "see log above"; exit 1; }
PIN=$(ls -d "$PIN_BASE"/v*)
RINGS=$PIN/rings

# CapEff of the pod's processes: SYS_ADMIN (bit 21) must not be in it.
eff=$(pod sh -c 'sed -n "s/^CapEff:\t//p" /proc/self/status')
expect pod_has_no_sys_admin [ $(( 0x$eff >> 21 & 1 )) = 0 -a $(( 0x$eff >> 39 & 1 )) = 1 ]

n=$(find "$RINGS" -mindepth 1 | wc -l)
expect one_pin_per_table [ "$n" = 3 ]

out=$(podflb -j vip list 2>&1); rc=$?
if [ "$rc" = 0 ] && echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = {x["vip"]: x for x in d["vips"]}
assert set(v) >= {"10.100.0.1:80/tcp", "[fd00:100::1]:80/tcp"}, v
assert all(x["table_size"] > 0 and x["fingerprint"] for x in v.values()), v' 2>/dev/null; then
	pass vip_list_with_pod_caps
else
	fail vip_list_with_pod_caps "rc=$rc $out"
fi
out=$(podflb vip list 2>&1); rc=$?
expect vip_list_text_with_pod_caps [ "$rc" = 0 -a -n "$(echo "$out" | grep 'fd00:100::1')" ]

# Long IPv6 rows keep the columns: GEN starts at the same place on every row.
out=$(podflb backend list 2>&1)
echo "$out" | sed 's/^/  /'
expect backend_list_ipv6_rows_aligned python3 -c '
import sys
lines = sys.argv[1].splitlines()
col = lines[0].index("GEN") + 3
assert len(lines) == 6 and all(l[col - 1] != " " and l[col] == " " for l in lines), lines' "$out"
out=$(podflb -j backend list 10.100.0.1 2>&1); rc=$?
if [ "$rc" = 0 ] && echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
b = {x["address"]: x for x in d["backends"]}
assert set(b) == {"10.10.2.11", "10.10.2.12"}, b
assert all(x["slots"] > 0 for x in b.values()), b' 2>/dev/null; then
	pass backend_list_vip_with_pod_caps
else
	fail backend_list_vip_with_pod_caps "rc=$rc $out"
fi
out=$(podflb -j which tcp 10.10.1.2:40000 10.100.0.1:80 2>&1); rc=$?
if [ "$rc" = 0 ] && echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["verdict"] == "forward" and d["backend"] in ("10.10.2.11", "10.10.2.12"), d' 2>/dev/null; then
	pass which_with_pod_caps
else
	fail which_with_pod_caps "rc=$rc $out"
fi
# The answer of `which` is the backend a real connection reaches.
want=$(echo "$out" | json_get 'd["backend"]' 2>/dev/null)
backends_wait
got=$(in_ns cl python3 "$ROOT/tests/lib/client.py" tuple 10.100.0.1 80 40000 1 | json_get 'd["backends"][0]' 2>&1)
expect which_names_the_backend_that_answers [ "$got" = "backend-$([ "$want" = 10.10.2.11 ] && echo 1 || echo 2)" ]

out=$(podflb status 2>&1); rc=$?
expect status_shows_interface_and_xdp_mode [ "$rc" = 0 -a -n "$(echo "$out" | grep -x 'interfaces: eth0 native (balancer)')" ]
out=$(podflb -j status 2>&1)
expect status_json_interfaces [ "$(echo "$out" | json_get 'd["interfaces"]' 2>&1)" = "[{'name': 'eth0', 'mode': 'native', 'program': 'balancer'}]" ]

# fluxlb tree with the pod's capabilities: VIP -> backends with the service
# names and weights the daemon wrote (flb_svc_names), slots summing to the
# table, and with --watch a second frame with rates.
out=$(podflb -j tree 2>&1); rc=$?
if [ "$rc" = 0 ] && echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = {x["vip"]: x for x in d["vips"]}
w = v["10.100.0.1:80/tcp"]
assert w["service"] == "web" and v["[fd00:100::1]:80/tcp"]["service"] == "web6", v
b = {x["address"]: x for x in w["backends"]}
assert set(b) == {"10.10.2.11", "10.10.2.12"}, b
assert all(x["service"] == "web" and x["weight"] == 1 and x["state"] == "active" for x in b.values()), b
assert sum(x["slots"] for x in b.values()) == w["table_size"], w
assert w["rates"] is None' 2>/dev/null; then
	pass tree_names_weights_slots_with_pod_caps
else
	fail tree_names_weights_slots_with_pod_caps "rc=$rc $out"
fi
# Columns line up, IPv6 rows included: every row's SERVICE field starts
# where the header's does (display columns; the tree glyphs are multibyte).
out=$(podflb tree 2>&1)
echo "$out" | sed 's/^/  /'
expect tree_columns_aligned python3 -c '
import sys
lines = sys.argv[1].splitlines()
col = lines[0].index("SERVICE")
assert all(l[col - 2:col] == "  " and l[col] != " " for l in lines[1:]), lines' "$out"
out=$(podflb -j tree --sort=slots 10.100.0.1 2>&1)
expect tree_sort_by_slots [ "$(echo "$out" | json_get 'len(d["vips"]) == 1 and [b["slots"] for b in d["vips"][0]["backends"]] == sorted((b["slots"] for b in d["vips"][0]["backends"]), reverse=True)' 2>&1)" = True ]
# Traffic during a 1 s watch: the second frame's VIP rate counts it.
(in_ns cl python3 "$ROOT/tests/lib/client.py" spread 10.100.0.1 80 20 >/dev/null 2>&1 &)
out=$(podflb -j tree --watch=1 --count=2 10.100.0.1 2>&1); rc=$?
expect tree_watch_two_frames_second_has_rates python3 -c '
import json, sys
f = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(f) == 2 and f[0]["vips"][0]["rates"] is None, f
r = f[1]["vips"][0]["rates"]
assert r is not None and r["packets_per_s"] >= 0 and f[1]["vips"][0]["packets"] >= f[0]["vips"][0]["packets"], f' "$out"
out=$(podflb tree -H --sort=bytes 2>&1); rc=$?
expect tree_human_units [ "$rc" = 0 -a -n "$(echo "$out" | grep -E '[0-9.]+(Ki|k) ')" ]
out=$(podflb tree --watch=0 2>&1); rc=$?
expect tree_bad_watch_is_usage_error [ "$rc" = 2 ]

# A reload that removes the IPv6 service: its table's pin goes.
v6id=$(podflb -j vip list | json_get '[x["id"] for x in d["vips"] if x["vip"].startswith("[fd00:100::1]")][0]')
python3 - "$CONFIG" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
c["services"] = [s for s in c["services"] if s["name"] != "web6"]
c["services"][0]["backends"].append({"address": "10.10.2.13"})
open(sys.argv[1] + ".tmp", "w").write(yaml.safe_dump(c))
PY
mv "$CONFIG.tmp" "$CONFIG"
kill -HUP "$DAEMON_PID"
wait_log 'msg="table updated"' 1 5
for _ in $(seq 1 50); do [ -e "$RINGS/$v6id" ] || break; sleep 0.1; done
expect removed_vip_unpinned [ ! -e "$RINGS/$v6id" -a "$(find "$RINGS" -mindepth 1 | wc -l)" = 2 ]
out=$(podflb -j backend list 10.100.0.1 2>&1)
expect replaced_table_read_through_new_pin [ "$(echo "$out" | json_get 'sorted(x["address"] for x in d["backends"] if x["slots"])' 2>&1)" = "['10.10.2.11', '10.10.2.12', '10.10.2.13']" ]

# The layout of an older fluxlbd: no pins of the tables.
rm -rf "$RINGS"
out=$(podflb vip list 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q 'Operation not permitted.*CAP_SYS_ADMIN.*restart fluxlbd'; then
	pass unpinned_tables_fail_with_a_hint
else
	fail unpinned_tables_fail_with_a_hint "rc=$rc $out"
fi
# The upgrade in the pod: the new fluxlbd, with only the DaemonSet's
# capabilities, cannot open the old tables by id to pin them; its first
# apply swaps in (and pins) a table per VIP, so the CLI works once it is ready.
kill "$DAEMON_PID"; stop_pid "$DAEMON_PID"
n0=$(grep -c 'msg="ready"' "$DAEMON_LOG")
ip netns exec "$(ns lb)" setpriv --no-new-privs --inh-caps=-all --bounding-set="$SET" \
	"$BIN/fluxlbd" --config "$CONFIG" >>"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
PIDS+=("$DAEMON_PID")
for _ in $(seq 1 50); do [ "$(grep -c 'msg="ready"' "$DAEMON_LOG")" -gt "$n0" ] && break; sleep 0.1; done
echo "  $(grep 'msg="pins of Maglev tables synced' "$DAEMON_LOG" | tail -1 | sed 's/.*msg=//')"
out=$(podflb vip list 2>&1); rc=$?
expect pod_caps_restart_pins_tables_of_older_layout [ "$rc" = 0 -a "$(find "$RINGS" -mindepth 1 | wc -l)" = 2 ]
[ "$rc" = 0 ] || echo "  $out"
# The same with CAP_SYS_ADMIN (a host install): pinned at open, by id.
rm -rf "$RINGS"
kill "$DAEMON_PID"; stop_pid "$DAEMON_PID"
daemon_start || fail restart_ready "see log"
expect restart_pins_tables_of_older_layout [ -n "$(grep 'msg="pins of Maglev tables synced' "$DAEMON_LOG" | grep 'added=2')" ]
out=$(podflb vip list 2>&1); rc=$?
expect vip_list_after_restart_with_pod_caps [ "$rc" = 0 ]

# bpftool, as docs/operating.md tells it.
if ! command -v bpftool >/dev/null; then
	skip bpftool_recipe "bpftool not installed"
	exit 0
fi
id=$(ls "$RINGS" | head -1)
out=$(pod bpftool -j map dump pinned "$RINGS/$id" 2>&1); rc=$?
expect bpftool_table_pin_with_pod_caps [ "$rc" = 0 -a "$(echo "$out" | json_get 'len(d) > 1' 2>&1)" = True ]
out=$(pod bpftool map dump pinned "$PIN/flb_backends" 2>&1); rc=$?
echo "  bpftool on a BTF map with the pod's capabilities: rc=$rc $(echo "$out" | head -1)"
out=$(in_ns lb bpftool -j map dump pinned "$PIN/flb_backends" 2>&1); rc=$?
expect bpftool_field_names_with_sys_admin [ "$rc" = 0 -a -n "$(echo "$out" | grep -o '"gen"' | head -1)" ]
out=$(in_ns lb bpftool map dump pinned "$PIN/flb_state" 2>&1); rc=$?
expect bpftool_flb_state_hex_without_btf [ "$rc" = 0 ]
