#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Installs every Debian package that building, testing and the demo need.
# Idempotent: runs apt-get (update first) only when something is missing,
# so `make test` on a machine that has everything never touches the network.
set -euo pipefail

PKGS=(
	make gcc clang llvm pkg-config       # toolchain (clang -target bpf, llvm-strip)
	libbpf-dev libxdp-dev bpftool        # BPF loader, XDP attach, skeletons
	libelf-dev zlib1g-dev linux-libc-dev # libbpf's link deps, UAPI headers
	libyaml-dev                          # fluxlbd config parser
	libmicrohttpd-dev                    # HTTP servers: fluxlbd's exporter, fluxlb-registry
	libcurl4-openssl-dev libcjson-dev    # HTTP clients and JSON: registry sources, etcd client
	etcd-server etcd-client python3-consul # registry tests: real etcd, a real Consul client
	iproute2 ethtool iputils-ping        # netns/veth topology for demo and e2e
	curl python3                         # HTTP client and backend servers
	iptables                             # e2e: count what the client sends (test_observability)
	yamllint python3-kubernetes          # deploy/ manifest checks (tests/e2e/test_manifests.sh)
	prometheus                           # promtool and a real Prometheus (test_observability, manifests)
	bird2                                # BGP announcement of VIPs (test_bgp, docs/bgp.md)
	help2man man-db groff-base           # man pages from the --help texts (make man, test_man)
	bash-completion zsh                  # completion tests (test_man)
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the manifest checks (kubernetes-models), installed into
# tests/manifests/node_modules (git-ignored), never globally, at the versions of
# its package-lock.json. Skipped when that lock is already installed; offline
# or without npm it only warns, and tests/e2e/test_manifests.sh skips the
# schema check with the reason.
npm_dir=$(cd "$(dirname "$0")/.." && pwd)/tests/manifests
if ! cmp -s "$npm_dir/package-lock.json" "$npm_dir/node_modules/.flb-installed-lock" 2>/dev/null; then
	if command -v npm >/dev/null &&
		(cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error --fetch-retries=1 >/dev/null 2>&1); then
		cp "$npm_dir/package-lock.json" "$npm_dir/node_modules/.flb-installed-lock"
		echo "install-deps: installed npm packages in tests/manifests/node_modules"
	else
		echo "install-deps: warning: npm packages for tests/manifests not installed (npm missing or offline)" >&2
	fi
fi

# bpffs: pinned maps live there. Some machines boot without it mounted.
if [ "$(id -u)" -eq 0 ] && [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != "bpf_fs" ]; then
	mount -t bpf bpf /sys/fs/bpf
	echo "install-deps: mounted bpffs on /sys/fs/bpf"
fi
