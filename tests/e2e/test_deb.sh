#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make deb` (issue 19): the package builds with dpkg-deb, holds the
# programs, BPF objects, units, man pages and completion, names the library
# packages it needs; `dpkg -i` installs it on this machine (its
# dependencies are satisfied here), the installed fluxlbd runs (--version,
# --check-config of the installed example, then a real start in a network
# namespace on a private bpffs until "ready", the installed fluxlb reading
# its maps), `man fluxlb` finds the installed page; `dpkg -r` then
# `dpkg -P` remove every file. The trap purges the package whatever
# happens, so the machine is left as found. Skipped when a fluxlb package
# or /usr/bin/fluxlbd is already there (not ours to replace).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib/e2e.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-deb >/dev/null; then
	skip deb "needs root and dpkg-deb"
	exit 0
fi
NS=flbdeb$$
TMP=$(mktemp -d /tmp/flbdeb.XXXXXX)
installed=false
cleanup() {
	[ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && sleep 0.5
	ip netns del "$NS" 2>/dev/null
	umount "$TMP/bpffs" 2>/dev/null
	$installed && dpkg -P fluxlb >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

out=$(make -s -C "$ROOT" deb 2>&1); rc=$?
DEB=$(ls -t "$ROOT"/build/fluxlb_*.deb 2>/dev/null | head -1)
expect make_deb_builds [ "$rc" = 0 -a -n "$DEB" ]
[ "$rc" = 0 ] || { echo "$out" | tail -5 | sed 's/^/  /'; exit 1; }
echo "  $(basename "$DEB"): $(stat -c %s "$DEB") bytes"
files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
missing=()
for f in ./usr/bin/fluxlbd ./usr/bin/fluxlb ./usr/bin/fluxlb-registry ./usr/lib/fluxlb/bpf/balancer.bpf.o \
	./usr/lib/fluxlb/bpf/decap.bpf.o ./lib/systemd/system/fluxlbd.service ./lib/systemd/system/fluxlb-registry.service \
	./usr/share/man/man8/fluxlbd.8.gz ./usr/share/man/man8/fluxlb.8.gz ./usr/share/man/man8/fluxlb-registry.8.gz \
	./usr/share/bash-completion/completions/fluxlb ./usr/share/zsh/vendor-completions/_fluxlb \
	./etc/fluxlb/fluxlbd.yaml.example ./usr/share/doc/fluxlb/operating.md; do
	grep -qx -- "$f" <<<"$files" || missing+=("$f")
done
expect deb_holds_programs_objects_units_man_completion [ ${#missing[@]} = 0 ]
[ ${#missing[@]} = 0 ] || echo "  missing: ${missing[*]}"
deps=$(dpkg-deb -f "$DEB" Depends)
expect deb_depends_on_its_libraries [ -n "$(grep -o 'libbpf1' <<<"$deps")" -a -n "$(grep -o 'libxdp1' <<<"$deps")" -a -n "$(grep -o 'libyaml-0-2' <<<"$deps")" ]
expect deb_example_config_is_a_conffile [ "$(dpkg-deb -I "$DEB" conffiles)" = /etc/fluxlb/fluxlbd.yaml.example ]

if dpkg -s fluxlb >/dev/null 2>&1 || [ -e /usr/bin/fluxlbd ]; then
	skip deb_install "a fluxlb package or /usr/bin/fluxlbd is already on this machine"
	exit 0
fi
out=$(dpkg -i "$DEB" 2>&1); rc=$?
installed=true
expect dpkg_install_succeeds [ "$rc" = 0 ]
[ "$rc" = 0 ] || echo "$out" | tail -5 | sed 's/^/  /'
expect installed_fluxlbd_version sh -c '/usr/bin/fluxlbd --version | grep -q "^fluxlbd .* (abi v[0-9]*)$"'
expect installed_fluxlb_version sh -c "/usr/bin/fluxlb --version >/dev/null"
expect installed_registry_version sh -c "/usr/bin/fluxlb-registry --version >/dev/null"
expect installed_example_passes_check_config sh -c "/usr/bin/fluxlbd --check-config /etc/fluxlb/fluxlbd.yaml.example >/dev/null"
expect installed_man_page_found sh -c 'man -w fluxlb | grep -q /usr/share/man/man8/fluxlb.8.gz && MANWIDTH=80 man fluxlbd 2>/dev/null | grep -q -- --check-config'

# The installed daemon starts: a namespace with eth0 (a veth), a private bpffs.
ip netns add "$NS"
ip -n "$NS" link add eth0 type veth peer name p0
ip -n "$NS" link set eth0 up
ip -n "$NS" link set p0 up
mkdir -p "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs"
cat >"$TMP/fluxlbd.yaml" <<YAML
interfaces: [eth0]
node: {bpffs: $TMP/bpffs/fluxlb}
services:
  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}
YAML
ip netns exec "$NS" /usr/bin/fluxlbd --config "$TMP/fluxlbd.yaml" >"$TMP/log" 2>&1 &
DPID=$!
for _ in $(seq 1 50); do grep -q 'msg="ready"' "$TMP/log" && break; sleep 0.1; done
expect installed_fluxlbd_starts_ready grep -q 'msg="ready"' "$TMP/log"
out=$(ip netns exec "$NS" /usr/bin/fluxlb --bpffs "$TMP/bpffs/fluxlb" -j tree 2>&1)
expect installed_fluxlb_reads_the_maps [ "$(echo "$out" | json_get 'd["vips"][0]["service"]' 2>&1)" = web ]
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
ip netns exec "$NS" /usr/bin/fluxlbd --cleanup --config "$TMP/fluxlbd.yaml" >/dev/null 2>&1

out=$(dpkg -r fluxlb 2>&1); rc=$?
left=$(for f in $files; do f=${f#.}; [ -f "$f" ] && [ "$f" != /etc/fluxlb/fluxlbd.yaml.example ] && echo "$f"; done)
expect dpkg_remove_removes_every_file_but_conffile [ "$rc" = 0 -a -z "$left" -a -f /etc/fluxlb/fluxlbd.yaml.example ]
[ -z "$left" ] || echo "  left: $left"
out=$(dpkg -P fluxlb 2>&1); rc=$?
installed=false
expect dpkg_purge_leaves_nothing [ "$rc" = 0 -a ! -e /etc/fluxlb -a ! -e /usr/bin/fluxlbd -a -z "$(dpkg -l fluxlb 2>/dev/null | grep '^[ir]i')" ]
