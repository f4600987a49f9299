#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# What operators see, checked against what was sent, on the demo topology:
#  - `fluxlb which` predicts the backend that answers, for 100 connections
#    with chosen source ports;
#  - per-VIP and per-backend counters rise by exactly what was sent: new
#    flows by the connections made, packets and bytes by what the client's
#    stack sent to the VIP (counted by an iptables rule in the client's
#    namespace; the balancer's bytes also hold the 14-byte Ethernet header);
#  - `fluxlb vip list` fingerprints equal the daemon's "table updated" lines;
#  - every command's -j output (errors too) parses with its documented keys;
#  - `bpftool -j map dump pinned` of every map in FLB_MAP_NAMES parses, with
#    struct member names where the map has them;
#  - when fluxlbd has an exporter (--metrics in its --help): promtool passes
#    on a live scrape, /health and /ready answer 200, and a real Prometheus
#    in the LB namespace scrapes per-backend new flows matching what was sent.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOPO=flbo$$
source "$ROOT/tests/lib/e2e.sh"
source "$ROOT/scripts/topo.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip observability "needs root (netns, XDP)"
	exit 0
fi
trap topo_down EXIT

CL=10.10.1.2
PIN=$PIN_BASE/v$("$BIN/fluxlbd" --version | sed -n 's/.*(abi v\([0-9]*\)).*/\1/p')
WORK=/run/$TOPO/observability   # removed by topo_down with /run/$TOPO
HAVE_METRICS=false
grep -q -- '--metrics' <("$BIN/fluxlbd" --help 2>&1) && HAVE_METRICS=true

# py EXPR: evaluates a Python expression over d (stdin as JSON); prints it.
py() { json_get "$1"; }
# keys_are NAME JSON EXPECTED_KEYS_EXPR: the object's keys, exactly.
keys_are() {
	local name=$1 json=$2 want=$3 got
	got=$(echo "$json" | python3 -c "
import json, sys
d = json.load(sys.stdin)
want = $want
bad = []
def walk(path, obj, spec):
    if isinstance(spec, dict):
        if not isinstance(obj, dict) or set(obj) != set(spec):
            bad.append('%s: keys %s, want %s' % (path, sorted(obj) if isinstance(obj, dict) else type(obj).__name__, sorted(spec)))
            return
        for k, v in spec.items():
            if v is not None and obj[k] is not None:
                walk(path + '.' + k, obj[k], v)
    elif isinstance(spec, list):
        if not isinstance(obj, list):
            bad.append('%s: not a list' % path)
            return
        for i, o in enumerate(obj):
            walk('%s[%d]' % (path, i), o, spec[0])
walk('\$', d, want)
print('; '.join(bad) if bad else 'ok')
" 2>&1)
	if [ "$got" = ok ]; then pass "json_keys_$name"; else fail "json_keys_$name" "$got :: $json"; fi
}

# Waits until the VIP's counters stop moving (packets still in flight on
# the veth when the client exits), at most 3 s.
settle() {
	local a b
	a=$(flb -j stats)
	for _ in $(seq 1 15); do
		sleep 0.2
		b=$(flb -j stats)
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$a"
}

topo_up
mkdir -p "$WORK"
topo_config
if $HAVE_METRICS; then
	MPORT=$(in_ns lb python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf 'metrics:\n  listen: "127.0.0.1:%s"\n' "$MPORT" >>"$CONFIG"
fi
# Count what the client's stack sends to the VIP; no GSO, so one skb is one frame.
in_ns cl ethtool -K c0 gso off >/dev/null 2>&1
in_ns cl iptables -w -A OUTPUT -d "$VIP/32" -p tcp --dport 80
backends_wait
export FLUXLB_NODE_NAME=node-$TOPO # metrics.node_label below
if ! daemon_start; then
	fail daemon_ready "fluxlbd did not become ready"
	exit 1
fi

# ---- which: prediction against the backend that answered -----------------
before=$(settle)
in_ns cl iptables -w -Z OUTPUT
preds=$(for i in $(seq 0 99); do flb -j which tcp "$CL:$((42000 + i))" "$VIP:80"; done)
answers=$(in_ns cl bash -c "for p in \$(seq 42000 42099); do python3 '$ROOT/tests/lib/client.py' tuple '$VIP' 80 \$p 1; done")
# At once: the last connection's RST marked its entry closing; it still
# decides for 10 s after that packet.
r=$(flb -j which tcp "$CL:42099" "$VIP:80")
after=$(settle)
# {"answered": n, "wrong": [...], "by_backend": {address: connections}}
cmp=$(python3 -c '
import json, sys
preds = [json.loads(l) for l in sys.argv[1].splitlines()]
answers = [json.loads(l)["backends"][0] for l in sys.argv[2].splitlines()]
out = {"answered": 0, "wrong": [], "by_backend": {}}
for i, (p, name) in enumerate(zip(preds, answers)):
    if name is None:
        continue
    addr = "10.10.2.1" + name.split("-")[1]
    out["answered"] += 1
    out["by_backend"][addr] = out["by_backend"].get(addr, 0) + 1
    if (p["backend"], p["decided_by"], p["conntrack"]) != (addr, "maglev", None):
        out["wrong"].append("sport %d: predicted %s (%s), answered by %s" % (42000 + i, p["backend"], p["decided_by"], addr))
print(json.dumps(out))' "$preds" "$answers")
echo "$cmp" | py '"\n".join("  " + w for w in d["wrong"]) or "  which: 100 predictions checked"'
answered=$(echo "$cmp" | py 'd["answered"]')
expect all_100_tuple_connections_answered [ "$answered" = 100 ]
expect which_predicts_answering_backend_100_of_100 [ "$(echo "$cmp" | py 'len(d["wrong"])')" = 0 -a "$answered" = 100 ]
expect which_sees_the_closing_conntrack_entry [ "$(echo "$r" | py 'd["conntrack"]["state"] + " " + d["decided_by"] + " " + str(d["conntrack_overrides"])')" = "closing conntrack False" ]

# ---- counters rose by exactly what was sent --------------------------------
delta() { # EXPR over (b, a) = (before, after) stats
	python3 -c "
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def vip(s, f): return [v[f] for v in s['vips'] if v['vip'] == '$VIP:80/tcp'][0]
def be(s, addr, f): return sum(x[f] for x in s['backends'] if x['backend'] == addr)
def bes(s, f): return sum(x[f] for x in s['backends'])
print($1)" "$before" "$after"
}
ipt=$(in_ns cl iptables -w -L OUTPUT -v -x -n | awk -v vip="$VIP" '$0 ~ vip && /dpt:80/ {print $1, $2; exit}')
ipt_pkts=${ipt% *} ipt_bytes=${ipt#* }
vip_flows=$(delta 'vip(a, "new_flows") - vip(b, "new_flows")')
vip_pkts=$(delta 'vip(a, "packets") - vip(b, "packets")')
vip_bytes=$(delta 'vip(a, "bytes") - vip(b, "bytes")')
echo "  sent by the client to the VIP: $ipt_pkts packets, $ipt_bytes bytes (IP); VIP counted $vip_pkts packets, $vip_bytes bytes (frames), $vip_flows new flows"
expect vip_new_flows_rose_by_connections_made [ "$vip_flows" = 100 ]
expect vip_packets_rose_by_packets_sent [ "$vip_pkts" = "$ipt_pkts" ]
expect vip_bytes_rose_by_bytes_sent_plus_ethernet [ "$vip_bytes" = $((ipt_bytes + 14 * ipt_pkts)) ]
expect backend_packets_sum_to_vip [ "$(delta 'bes(a, "packets") - bes(b, "packets")')" = "$vip_pkts" ]
expect backend_bytes_sum_to_vip [ "$(delta 'bes(a, "bytes") - bes(b, "bytes")')" = "$vip_bytes" ]
ok=True
for addr in 10.10.2.11 10.10.2.12 10.10.2.13; do
	d=$(delta "be(a, '$addr', 'new_flows') - be(b, '$addr', 'new_flows')")
	n=$(echo "$cmp" | py "d['by_backend'].get('$addr', 0)")
	[ "$d" = "$n" ] || { ok=False; echo "  $addr: new_flows +$d, answered $n"; }
done
expect backend_new_flows_rose_by_connections_each_answered [ "$ok" = True ]

# ---- fingerprints: CLI (from the live table) == daemon log -----------------
vl=$(flb -j vip list)
ok=True
for id in $(echo "$vl" | py '" ".join(str(v["id"]) for v in d["vips"])'); do
	cli_fp=$(echo "$vl" | py "[v['fingerprint'] for v in d['vips'] if v['id'] == $id][0]")
	log_fp=$(grep 'msg="table updated"' "$DAEMON_LOG" | grep " vip_id=$id " | tail -1 | sed -n 's/.*fingerprint=\([0-9a-f]*\).*/\1/p')
	echo "  vip_id $id: cli $cli_fp, daemon log $log_fp"
	[ -n "$log_fp" ] && [ "$cli_fp" = "$log_fp" ] || ok=False
done
expect vip_list_fingerprint_equals_daemon_log [ "$ok" = True -a "$(echo "$vl" | py 'len(d["vips"])')" = 2 ]

# ---- every command's JSON: parses, documented keys ------------------------
TRAFFIC="{'packets': None, 'bytes': None, 'new_flows': None}"
keys_are status "$(flb -j status)" "{'ready': None, 'abi': None, 'pin_dir': None, 'vips': None, 'backends': None, 'backends_active': None, 'backends_draining': None, 'backends_down': None, 'conntrack_entries': None, 'tcp_timeout_s': None, 'udp_timeout_s': None, 'flood': {'on': None, 'threshold': None, 'threshold_cpu': None, 'cpus_in_flood': None, 'rate': None}, 'interfaces': [{'name': None, 'mode': None, 'program': None}]}"
keys_are tree "$(flb -j tree)" "{'vips': [{'vip': None, 'id': None, 'service': None, 'table_size': None, 'flows': None, 'packets': None, 'bytes': None, 'new_flows': None, 'rates': None, 'backends': [{'id': None, 'address': None, 'service': None, 'weight': None, 'state': None, 'slots': None, 'flows': None, 'packets': None, 'bytes': None, 'new_flows': None, 'rates': None}]}]}"
keys_are stats "$(flb -j stats)" "{'reasons': None, 'events': None, 'vips': [dict({'vip': None, 'id': None}, **$TRAFFIC)], 'backends': [dict({'backend': None, 'id': None, 'gen': None, 'state': None}, **$TRAFFIC)]}"
s=$(flb -j stats)
# As many as include/flb_reasons.h lists (reasons first, then events).
nr=$(sed -n '/^#define FLB_REASONS/,/^$/p' "$ROOT/include/flb_reasons.h" | grep -c '^\s*X(')
ne=$(sed -n '/^#define FLB_EVENTS/,/^$/p' "$ROOT/include/flb_reasons.h" | grep -c '^\s*X(')
expect stats_names_every_reason_and_event [ "$(echo "$s" | py "len(d['reasons']) == $nr and len(d['events']) == $ne")" = True ]
VIPKEYS="{'vips': [{'vip': None, 'id': None, 'table_size': None, 'backends': None, 'fingerprint': None}]}"
keys_are vip_list "$vl" "$VIPKEYS"
keys_are vip_list_filtered "$(flb -j vip list "[$VIP6]:80/tcp")" "$VIPKEYS"
BEKEYS="{'vip': None, 'backends': [{'id': None, 'address': None, 'gen': None, 'state': None, 'slots': None, 'flows': None, 'packets': None, 'bytes': None, 'new_flows': None}]}"
keys_are backend_list "$(flb -j backend list)" "$BEKEYS"
bl=$(flb -j backend list "$VIP:80")
keys_are backend_list_vip "$bl" "$BEKEYS"
expect backend_list_vip_shows_its_3_backends [ "$(echo "$bl" | py 'sorted(b["address"] for b in d["backends"])')" = "['10.10.2.11', '10.10.2.12', '10.10.2.13']" ]
FLOWKEYS="{'flows': [{'proto': None, 'src': None, 'dst': None, 'backend': None, 'backend_id': None, 'gen': None, 'age_s': None, 'state': None}], 'matched': None, 'shown': None, 'limit': None}"
keys_are flow_list "$(flb -j flow list)" "$FLOWKEYS"
fl=$(flb -j flow list --vip "$VIP:80/tcp" --backend 10.10.2.11 --limit 3)
keys_are flow_list_filtered "$fl" "$FLOWKEYS"
expect flow_list_filters_and_limits [ "$(echo "$fl" | py 'd["shown"] == min(3, d["matched"]) and all(f["backend"] == "10.10.2.11" and f["dst"] == "10.100.0.1:80" for f in d["flows"])')" = True ]
expect flow_list_counts_every_flow [ "$(flb -j flow list --vip "$VIP" --limit 0 | py 'd["matched"] == d["shown"] >= 100')" = True ]
WHICHKEYS="{'proto': None, 'src': None, 'dst': None, 'vip': None, 'vip_id': None, 'ready': None, 'hash': None, 'table_size': None, 'slot': None, 'maglev': {'backend': None, 'backend_id': None, 'identity': None, 'translated': None}, 'conntrack': {'state': None, 'backend': None, 'backend_id': None, 'gen': None, 'age_s': None}, 'conntrack_overrides': None, 'decided_by': None, 'backend': None, 'backend_id': None, 'identity': None, 'translated': None, 'verdict': None, 'policy': None}"
keys_are which "$r" "$WHICHKEYS"
w6=$(flb -j which tcp "[fd00:10:1::2]:40000" "[$VIP6]:80")
keys_are which_ipv6 "$w6" "$WHICHKEYS"
expect which_ipv6_picks_ipv6_backend [ "$(echo "$w6" | py 'd["verdict"] == "forward" and d["backend"].startswith("fd00:10:2::") and d["conntrack"] is None')" = True ]
keys_are decap_stats "$(in_ns b1 "$BIN/fluxlb" -j decap stats eth0)" "{'decap': {'decap_ok': None, 'decap_pass_other': None, 'decap_bad': None}}"
ERRKEYS="{'error': None, 'errno': None, 'detail': None}"
out=$(flb -j which tcp "$CL:1" 10.99.0.1:80); rc=$?
keys_are error_not_a_vip "$out" "$ERRKEYS"
expect error_not_a_vip_exit_1 [ "$rc" = 1 ]
out=$(flb -j which tcp "$CL" "$VIP:80"); rc=$?
keys_are error_usage "$out" "$ERRKEYS"
expect error_usage_exit_2 [ "$rc" = 2 ]
out=$(in_ns lb "$BIN/fluxlb" -j --bpffs /run/$TOPO/nowhere backend list); rc=$?
keys_are error_no_maps "$out" "$ERRKEYS"
expect error_no_maps_exit_1 [ "$rc" = 1 ]
ok=True
for c in status stats "vip list" "backend list" "flow list" which "decap attach" "decap detach" "decap stats"; do
	# shellcheck disable=SC2086
	"$BIN/fluxlb" $c --help | grep -q '^Exit status: 0 success, 1 failure' || { ok=False; echo "  $c --help"; }
done
expect every_command_help_documents_exit_codes [ "$ok" = True ]

# ---- bpftool: every pinned map dumps as JSON, with field names ------------
maps=$(sed -n '/^#define FLB_MAP_NAMES/,/^$/p' "$ROOT/include/flb_abi.h" |
	sed -n 's/.*X(\(flb_[a-z_0-9]*\)).*/\1/p')
expect flb_map_names_found [ "$(echo "$maps" | wc -w)" -ge 11 ]
for m in $maps; do
	out=$(bpftool -j map dump pinned "$PIN/$m" 2>&1)
	res=$(echo "$out" | python3 -c "
import json, sys
m = sys.argv[1]
# Fields each map's key/value must show (None: a number, no struct).
want = {
  'flb_ctl': (None, {'ready', 'flags', 'encap_src4', 'tcp_timeout_s', 'encap_src6', 'udp_timeout_s', 'flood_nfps'}),
  'flb_vips': ({'addr', 'port', 'proto', 'family'}, {'id', 'flags'}),
  'flb_vip_addrs': ({'addr', 'proto', 'family'}, None),
  'flb_frags': ({'src', 'dst', 'id', 'proto', 'family'}, {'backend', 'gen', 'last_seen', 'flags'}),
  'flb_backends': (None, {'addr', 'gen', 'family', 'state'}),
  'flb_conntrack': ({'src', 'dst', 'sport', 'dport', 'proto', 'family'}, {'backend', 'gen', 'last_seen', 'flags'}),
  'flb_reasons': (None, None),
  'flb_events': (None, None),
  'flb_vip_stats': (None, {'packets', 'bytes', 'new_flows'}),
  'flb_be_stats': (None, {'packets', 'bytes', 'new_flows'}),
  'flb_nexthops': (None, {'expires', 'gen', 'ingress', 'ifindex', 'mtu', 'dmac', 'smac'}),
  'flb_flood': (None, {'window', 'new_flows', 'mode'}),
  'flb_chance': (None, {'expires', 'window_s'}),
  'flb_affinity': ({'addr', 'vip_id', 'family'}, {'backend', 'gen', 'last_seen'}),
  'flb_aff_vips': (None, {'timeout_s', 'members'}),
  'flb_outlier': (None, None),
  'flb_pfx_cfg': (None, {'nfps', 'len4', 'len6'}),
  'flb_pfx': ({'addr', 'family', 'len'}, {'window', 'syns'}),
}
d = json.load(sys.stdin)
assert isinstance(d, list), 'not a list'
if m in ('flb_rings', 'flb_rings_prev'):
    # An array of maps: the value is the inner table's map id (no BTF).
    for e in d:
        assert len(e['value']) == 4, e
    print('ok %d' % len(d)); sys.exit()
if m == 'flb_tail':
    # A prog array (the node role's decap, docs/pods.md): the value is a program id (no BTF).
    for e in d:
        assert len(e['value']) == 4, e
    print('ok %d' % len(d)); sys.exit()
assert m in want, 'no expectation for new map %s: add its fields here' % m
kf, vf = want[m]
for e in d:
    f = e['formatted']
    vals = [x['value'] for x in f['values']] if 'values' in f else [f['value']]
    if kf: assert set(f['key']) >= kf, (m, f['key'])
    else: assert isinstance(f['key'], int), (m, f['key'])
    for v in vals:
        if vf: assert set(v) >= vf, (m, v)
        else: assert isinstance(v, int), (m, v)
print('ok %d' % len(d))
" "$m" 2>&1 | tail -1)
	case $res in
	ok*) pass "bpftool_dump_named_fields_$m" ;;
	*) fail "bpftool_dump_named_fields_$m" "$res :: $(echo "$out" | head -c 300)" ;;
	esac
done
# The rings' inner tables: [0] = M, then backend ids; M matches vip list.
inner=$(bpftool -j map dump pinned "$PIN/flb_rings" | python3 -c 'import json,sys; d=json.load(sys.stdin); e=[e for e in d if int(e["key"][0],16)==0][0]; print(int.from_bytes(bytes(int(b,16) for b in e["value"]), "little"))')
m0=$(bpftool -j map lookup id "$inner" key 0 0 0 0 | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["formatted"]["value"] if "formatted" in e else int.from_bytes(bytes(int(b,16) for b in e["value"]), "little"))')
expect bpftool_ring_inner_table_size_matches_vip_list [ "$m0" = "$(echo "$vl" | py '[v["table_size"] for v in d["vips"] if v["id"] == 0][0]')" ]
# Operators cross-check: bpftool's per-CPU values sum to what the CLI shows.
bt=$(bpftool -j map lookup pinned "$PIN/flb_be_stats" key 1 0 0 0 | py 'sum(c["value"]["new_flows"] for c in d["formatted"]["values"])')
expect bpftool_per_cpu_sum_equals_cli [ "$bt" = "$(flb -j stats | py '[b["new_flows"] for b in d["backends"] if b["id"] == 1][0]')" ]

# ---- the Grafana dashboard: valid JSON, the panels the issue asks for ------
DASH=$ROOT/deploy/grafana/fluxlb-dashboard.json
ok=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
titles = {p["title"] for p in d["panels"]}
want = {"Packets by reason", "New flows per VIP", "New flows per backend", "Backend states",
        "Reconcile latency", "Config reloads", "Conntrack: TCP misses, new UDP flows, hits, inserts"}
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
print(want <= titles and all("fluxlb_" in e for e in exprs) or sorted(want - titles))' "$DASH" 2>&1)
expect grafana_dashboard_valid_with_required_panels [ "$ok" = True ]

# ---- /metrics, /health, /ready, Prometheus ---------------------------------
metrics_checks() {
	local url=http://127.0.0.1:$MPORT scrape code ppid pport t0 q b0 b1 sent ok
	curl_ns() { in_ns lb curl -s --max-time 5 "$@"; }
	scrape=$(curl_ns "$url/metrics")
	echo "$scrape" >"$WORK/scrape.txt"
	if echo "$scrape" | promtool check metrics >"$WORK/promtool.txt" 2>&1; then
		pass metrics_promtool_check_passes
	else
		fail metrics_promtool_check_passes "$(head -5 "$WORK/promtool.txt")"
	fi
	expect metrics_process_families [ "$(echo "$scrape" | grep -cE '^process_(cpu_seconds_total|resident_memory_bytes|start_time_seconds|open_fds|max_fds) [0-9.e+]+$')" = 5 ]
	expect metrics_last_reload_successful grep -qx 'fluxlb_config_last_reload_successful 1' <<<"$scrape"
	expect metrics_last_reload_timestamp_recent python3 -c "import sys,time; sys.exit(not 0 < time.time() - float(sys.argv[1]) < 3600)" "$(echo "$scrape" | sed -n 's/^fluxlb_config_last_reload_success_timestamp_seconds //p')"
	expect metrics_content_type [ "$(curl_ns -o /dev/null -w '%{content_type}' "$url/metrics")" = "text/plain; version=0.0.4; charset=utf-8" ]
	expect metrics_health_200 [ "$(curl_ns -o /dev/null -w '%{http_code}' "$url/health")" = 200 ]
	expect metrics_ready_200 [ "$(curl_ns -o /dev/null -w '%{http_code}' "$url/ready")" = 200 ]
	expect metrics_unknown_path_404 [ "$(curl_ns -o /dev/null -w '%{http_code}' "$url/nope")" = 404 ]
	expect metrics_post_405 [ "$(curl_ns -o /dev/null -w '%{http_code}' -X POST "$url/metrics")" = 405 ]
	# The scrape agrees with the CLI (both read the same maps).
	ok=True
	for b in $(flb -j stats | py '" ".join("%s=%d" % (x["backend"], x["new_flows"]) for x in d["backends"])'); do
		echo "$scrape" | grep -q "^fluxlb_backend_new_flows_total{backend=\"${b%=*}\",backend_id=\"[0-9]*\"} ${b#*=}\$" ||
			{ ok=False; echo "  $b not in the scrape"; }
	done
	expect metrics_backend_new_flows_equal_cli [ "$ok" = True ]
	# Conntrack fill (the same walk as `fluxlb status`), XDP mode per interface.
	ct=$(flb -j status | py 'd["conntrack_entries"]')
	expect metrics_conntrack_entries_equal_cli grep -qx "fluxlb_map_entries{map=\"flb_conntrack\"} $ct" <<<"$scrape"
	expect metrics_conntrack_capacity grep -qx 'fluxlb_map_max_entries{map="flb_conntrack"} 262144' <<<"$scrape"
	expect metrics_frags_capacity grep -qx 'fluxlb_map_max_entries{map="flb_frags"} 16384' <<<"$scrape"
	expect metrics_interface_xdp_native grep -qx 'fluxlb_interface_xdp_info{interface="eth0",mode="native",program="balancer"} 1' <<<"$scrape"
	expect metrics_vip_service_label_not_service [ -n "$(grep '^fluxlb_vip_table_size{vip_service="web",' <<<"$scrape")" -a -z "$(grep -E '[{,]service=' <<<"$scrape")" ]
	# metrics.node_label: a reload puts node="$FLUXLB_NODE_NAME" on every sample.
	n0=$(grep -c 'msg="state applied"' "$DAEMON_LOG")
	echo "  node_label: true" >>"$CONFIG"
	kill -HUP "$DAEMON_PID"
	wait_log 'msg="state applied"' $((n0 + 1)) 5
	scrape=$(curl_ns "$url/metrics")
	expect metrics_node_label_on_every_sample [ "$(grep -v '^#' <<<"$scrape" | grep -vc "{node=\"$FLUXLB_NODE_NAME\"")" = 0 -a "$(grep -vc '^#' <<<"$scrape")" -gt 50 ]
	if echo "$scrape" | promtool check metrics >"$WORK/promtool.txt" 2>&1; then
		pass metrics_promtool_check_passes_with_node_label
	else
		fail metrics_promtool_check_passes_with_node_label "$(head -5 "$WORK/promtool.txt")"
	fi

	# A real Prometheus in the LB namespace (the exporter listens on its loopback).
	pport=$(in_ns lb python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$WORK/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: fluxlb
	    static_configs:
	      - targets: ["127.0.0.1:$MPORT"]
	EOF
	bg_in_ns lb "$WORK/prometheus.log" prometheus --config.file="$WORK/prometheus.yml" \
		--storage.tsdb.path="$WORK/tsdb" --web.listen-address="127.0.0.1:$pport" --log.level=warn
	ppid=${PIDS[-1]}
	# promql QUERY: the result vector as {backend: value} ({} when empty),
	# or a line starting with "error" when Prometheus did not answer.
	promql() {
		in_ns lb curl -s --max-time 5 "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
			python3 -c '
import json, sys
raw = sys.stdin.read()
try:
    d = json.loads(raw)
    print(json.dumps({r["metric"].get("backend", ""): float(r["value"][1]) for r in d["data"]["result"]}, sort_keys=True))
except Exception as e:
    print("error: %r %s" % (e, raw[:200]))'
	}
	# wait_sample T: until a scrape taken after unix time T is stored (<= 20 s).
	wait_sample() {
		local r
		for _ in $(seq 1 100); do
			r=$(promql "timestamp(fluxlb_maps_up) >= $1")
			case $r in "{}" | error*) ;; *) return 0 ;; esac
			kill -0 "$ppid" 2>/dev/null || return 1
			sleep 0.2
		done
		echo "  last answer: $r"
		return 1
	}
	for _ in $(seq 1 50); do
		[ "$(in_ns lb curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pport/-/ready")" = 200 ] && break
		sleep 0.2
	done
	q='sum by (backend) (fluxlb_backend_new_flows_total)'
	t0=$(date +%s.%N)
	if ! wait_sample "$t0"; then
		fail prometheus_scrapes_fluxlbd "no sample within 20 s; log: $(tail -5 "$WORK/prometheus.log")"
		return
	fi
	pass prometheus_scrapes_fluxlbd
	b0=$(promql "$q")
	sent=$(in_ns cl python3 "$ROOT/tests/lib/client.py" spread "$VIP" 80 60)
	settle >/dev/null
	t0=$(date +%s.%N)
	wait_sample "$t0"
	b1=$(promql "$q")
	echo "  Prometheus per-backend new flows: before $b0, after $b1; sent $sent"
	ok=$(python3 -c "
import json, sys
b0, b1, sent = (json.loads(x) for x in sys.argv[1:4])
by = {'10.10.2.1' + k.split('-')[1]: n for k, n in sent['by_backend'].items()}
print(sent['ok'] == 60 and all(b1.get(a, 0) - b0.get(a, 0) == by.get(a, 0) for a in set(b1) | set(by))
      and sum(b1.values()) - sum(b0.values()) == 60)" "$b0" "$b1" "$sent")
	expect promql_backend_new_flows_match_what_was_sent [ "$ok" = True ]
	# Every dashboard query runs on the live data, over metrics the scrape has.
	ok=True
	while IFS= read -r e; do
		r=$(in_ns lb curl -s --max-time 5 "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$e" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>&1)
		[ "$r" = success ] || { ok=False; echo "  dashboard query failed: $e: $r"; }
		for name in $(echo "$e" | grep -o 'fluxlb_[a-z_]*' | sed 's/_bucket$//' | sort -u); do
			grep -q "^# TYPE $name " "$WORK/scrape.txt" || { ok=False; echo "  dashboard uses $name, not in the scrape"; }
		done
	done < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        print(t["expr"].replace("$__rate_interval", "1m").replace("$__range", "5m")
              .replace("$instance", ".*").replace("$service", ".*"))' "$DASH")
	expect grafana_dashboard_queries_run_on_live_metrics [ "$ok" = True ]
	ok=$(python3 -c "
import json, sys
p, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(all(p.get(b['backend'], -1) == b['new_flows'] for b in s['backends']))" "$b1" "$(flb -j stats)")
	expect promql_backend_new_flows_equal_cli [ "$ok" = True ]
}
if $HAVE_METRICS; then
	metrics_checks
else
	echo "SKIP $SUITE/metrics: fluxlbd has no exporter wired yet"
fi

# ---- nothing left behind ----------------------------------------------------
topo_down
trap - EXIT
expect no_namespace_left [ "$(ip netns list | grep -c "^$TOPO-")" = 0 ]
expect no_pin_or_mount_left sh -c "[ ! -e /run/$TOPO ] && ! grep -q ' /run/$TOPO/' /proc/mounts"
expect no_process_left sh -c "! pgrep -f '[/]run/$TOPO/' >/dev/null"
