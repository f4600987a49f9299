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
	iproute2 ethtool iputils-ping        # netns/veth topology for demo and e2e
	curl python3                         # HTTP client and backend servers
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

# bpffs: pinned maps live there. Some machines boot without it mounted.
if [ "$(id -u)" -eq 0 ] && [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != "bpf_fs" ]; then
	mount -t bpf bpf /sys/fs/bpf
	echo "install-deps: mounted bpffs on /sys/fs/bpf"
fi
