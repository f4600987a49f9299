#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# fluxlbd and fluxlb as an operator meets them without any dataplane:
# --check-config verdicts and messages, --help, usage errors, exit codes.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
BIN=$ROOT/build/bin
TMP=$(mktemp -d /tmp/flbcli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/good.yaml" <<'YAML'
interfaces: [eth0]
services:
  - name: web
    vip: 10.100.0.1
    port: 80
    protocol: tcp
    backends:
      - address: 10.10.2.11
        weight: 1
      - address: 10.10.2.12
YAML
out=$("$BIN/fluxlbd" --check-config "$TMP/good.yaml" 2>&1); rc=$?
expect check_config_accepts_issue_example [ "$rc" = 0 ]

sed 's/10.10.2.12/10.10.2.x/' "$TMP/good.yaml" >"$TMP/bad.yaml"
out=$("$BIN/fluxlbd" --check-config "$TMP/bad.yaml" 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q 'bad.yaml:10: services\[0\].backends\[1\].address'; then
	pass check_config_rejects_with_line_and_key
else
	fail check_config_rejects_with_line_and_key "rc=$rc out=$out"
fi

sed 's/services:/servces:/' "$TMP/good.yaml" >"$TMP/unknown.yaml"
out=$("$BIN/fluxlbd" --check-config "$TMP/unknown.yaml" 2>&1); rc=$?
if [ "$rc" = 1 ] && echo "$out" | grep -q 'servces: unknown key'; then
	pass check_config_rejects_unknown_key
else
	fail check_config_rejects_unknown_key "rc=$rc out=$out"
fi

out=$("$BIN/fluxlbd" --check-config "$TMP/missing.yaml" 2>&1); rc=$?
expect check_config_missing_file_is_error [ "$rc" = 1 ]

"$BIN/fluxlbd" --help | grep -q -- '--check-config'
expect fluxlbd_help [ $? = 0 ]
"$BIN/fluxlbd" --bogus >/dev/null 2>&1; rc=$?
expect fluxlbd_usage_error_exit_2 [ "$rc" = 2 ]
"$BIN/fluxlb" --help | grep -q 'decap attach'
expect fluxlb_help [ $? = 0 ]
"$BIN/fluxlb" frobnicate >/dev/null 2>&1; rc=$?
expect fluxlb_unknown_command_exit_2 [ "$rc" = 2 ]
out=$("$BIN/fluxlb" -j --bpffs "$TMP/nowhere" status); rc=$?
if [ "$rc" = 1 ] && echo "$out" | python3 -c 'import json,sys; assert "error" in json.load(sys.stdin)'; then
	pass fluxlb_json_error_without_maps
else
	fail fluxlb_json_error_without_maps "rc=$rc out=$out"
fi

# Options may follow the command (`fluxlb status -j`, as ipvsadm and cilium
# take them); --version names the map ABI the CLI reads; `help COMMAND`.
out=$("$BIN/fluxlb" status -j --bpffs "$TMP/nowhere"); rc=$?
if [ "$rc" = 1 ] && echo "$out" | python3 -c 'import json,sys; assert "error" in json.load(sys.stdin)'; then
	pass fluxlb_options_after_the_command
else
	fail fluxlb_options_after_the_command "rc=$rc out=$out"
fi
out=$("$BIN/fluxlb" --bpffs="$TMP/nowhere" vip list -j); rc=$?
expect fluxlb_bpffs_equals_form [ "$rc" = 1 -a -n "$(echo "$out" | grep -o '"errno":2')" ]
out=$("$BIN/fluxlb" --version); rc=$?
expect fluxlb_version [ "$rc" = 0 -a -n "$(echo "$out" | grep -E '^fluxlb .+ \(abi v[0-9]+\)$')" ]
"$BIN/fluxlb" help which | grep -q '^Usage: fluxlb .*which PROTO'
expect fluxlb_help_command [ $? = 0 ]
"$BIN/fluxlb" help frobnicate >/dev/null 2>&1; rc=$?
expect fluxlb_help_unknown_command_exit_2 [ "$rc" = 2 ]
"$BIN/fluxlb" status --bogus >/dev/null 2>&1; rc=$?
expect fluxlb_unknown_command_option_exit_2 [ "$rc" = 2 ]
