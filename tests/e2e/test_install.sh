#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make install` for hosts outside Kubernetes, into a scratch folder: the
# programs run from where they were installed, the systemd units name them
# and pass `systemd-analyze verify`, the example configuration passes
# --check-config, and `make uninstall` leaves no file behind.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
TMP=$(mktemp -d /tmp/flbinst.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
P=$TMP/usr
E=$TMP/etc

out=$(make -s -C "$ROOT" install PREFIX="$P" SYSCONFDIR="$E" DESTDIR= 2>&1); rc=$?
expect install_succeeds [ "$rc" = 0 ]
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/  /'
for b in fluxlbd fluxlb fluxlb-registry; do
	expect "installed_${b//-/_}_runs" "$P/bin/$b" --version
done
expect bpf_objects_installed [ -f "$P/lib/fluxlb/bpf/balancer.bpf.o" -a -f "$P/lib/fluxlb/bpf/decap.bpf.o" ]
expect manual_installed [ -f "$P/share/doc/fluxlb/operating.md" ]
if command -v help2man >/dev/null; then
	expect man_pages_installed [ -f "$P/share/man/man8/fluxlbd.8" -a -f "$P/share/man/man8/fluxlb.8" -a -f "$P/share/man/man8/fluxlb-registry.8" ]
else
	skip man_pages_installed "help2man not installed (scripts/install-deps.sh)"
fi
expect completion_installed [ -f "$P/share/bash-completion/completions/fluxlb" -a -L "$P/share/bash-completion/completions/fluxlbd" -a -f "$P/share/zsh/vendor-completions/_fluxlb" ]
U=$P/lib/systemd/system
expect unit_runs_installed_fluxlbd grep -qx "ExecStart=$P/bin/fluxlbd --config $E/fluxlb/fluxlbd.yaml" "$U/fluxlbd.service"
expect unit_reload_is_sighup grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$U/fluxlbd.service"
expect unit_runs_installed_registry grep -q "^ExecStart=$P/bin/fluxlb-registry " "$U/fluxlb-registry.service"
if command -v systemd-analyze >/dev/null; then
	for u in fluxlbd fluxlb-registry; do
		v=$(systemd-analyze verify "$U/$u.service" 2>&1); rc=$?
		expect "systemd_verifies_${u//-/_}" [ "$rc" = 0 ]
		[ "$rc" = 0 ] || echo "$v" | sed 's/^/  /'
	done
else
	skip systemd_verifies_units "systemd-analyze is not installed (Debian package systemd)"
fi
expect example_config_is_valid "$P/bin/fluxlbd" --check-config "$E/fluxlb/fluxlbd.yaml.example"

make -s -C "$ROOT" uninstall PREFIX="$P" SYSCONFDIR="$E" DESTDIR= >/dev/null 2>&1
left=$(find "$TMP" -type f -o -type l)
expect uninstall_leaves_no_file [ -z "$left" ]
[ -z "$left" ] || echo "$left" | sed 's/^/  left: /'
