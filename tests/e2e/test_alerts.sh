#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The shipped alert rules (deploy/prometheus/fluxlb-alerts.yaml): promtool
# accepts them, each fires on the series that should fire it and not on
# healthy ones (tests/prometheus/fluxlb-alerts.test.yaml), and every series
# they read is one fluxlbd exports (the metrics table of
# docs/observability.md, which tests/unit/test_metrics.c holds to the
# renderer). A broken copy of the rules is refused.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
RULES=$ROOT/deploy/prometheus/fluxlb-alerts.yaml
if ! command -v promtool >/dev/null; then
	skip alerts "promtool not installed (Debian package prometheus)"
	exit 0
fi
TMP=$(mktemp -d /tmp/flbalerts.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

out=$(promtool check rules "$RULES" 2>&1); rc=$?
expect rules_pass_promtool_check [ "$rc" = 0 ]
[ "$rc" = 0 ] || echo "$out" | sed 's/^/  /'
out=$(cd "$ROOT/tests/prometheus" && promtool test rules fluxlb-alerts.test.yaml 2>&1); rc=$?
expect rules_pass_promtool_unit_tests [ "$rc" = 0 ]
[ "$rc" = 0 ] || echo "$out" | grep -v '^$' | head -30 | sed 's/^/  /'

# Every alert has a unit test.
missing=$(python3 - "$RULES" "$ROOT/tests/prometheus/fluxlb-alerts.test.yaml" <<'PY'
import sys, yaml
rules = [r["alert"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"] if "alert" in r]
tested = {t["alertname"] for u in yaml.safe_load(open(sys.argv[2]))["tests"] for t in u.get("alert_rule_test", [])}
print(" ".join(sorted(set(rules) - tested)))
PY
)
expect every_alert_unit_tested [ -z "$missing" ]
[ -z "$missing" ] || echo "  untested: $missing"

# Every series the rules read is in docs/observability.md's metrics table
# (a row may list `fluxlb_x_packets_total`, `_bytes_total`: suffixes of its first name).
unknown_series() { # RULES
	python3 - "$1" "$ROOT/docs/observability.md" <<'PY'
import re, sys, yaml
exprs = [r["expr"] for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
used = set(re.findall(r"\bfluxlb_[a-z0-9_]+", " ".join(exprs)))
known = set()
for line in open(sys.argv[2]):
    if not line.startswith("| `fluxlb_"):
        continue
    names = re.findall(r"`([a-z0-9_]+)`", line.split("|")[1])
    base = names[0]
    known.add(base)
    stem = re.sub(r"_(packets|bytes|new_flows)_total$", "", base)
    for n in names[1:]:
        known.add(n if n.startswith("fluxlb_") else stem + n)
print(" ".join(sorted(used - known)))
PY
}
unknown=$(unknown_series "$RULES")
expect rules_read_exported_series [ -z "$unknown" ]
[ -z "$unknown" ] || echo "  not exported: $unknown"

# A broken copy: a typo in a metric name is caught by the series check,
# a bad expression by promtool.
sed 's/fluxlb_vip_panic == 1/fluxlb_vip_panik == 1/' "$RULES" >"$TMP/typo.yaml"
expect broken_copy_typo_is_seen [ "$(unknown_series "$TMP/typo.yaml")" = fluxlb_vip_panik ]
sed 's/expr: fluxlb_ready == 0/expr: fluxlb_ready ==/' "$RULES" >"$TMP/syntax.yaml"
promtool check rules "$TMP/syntax.yaml" >/dev/null 2>&1; rc=$?
expect broken_copy_syntax_refused [ "$rc" != 0 ]
