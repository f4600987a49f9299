# syntax=docker/dockerfile:1
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The fluxlb image: fluxlbd, fluxlb and fluxlb-registry on Debian 12, as
# deploy/daemonset runs them. `make image` builds it where a Docker engine
# exists. Two stages: the build stage has the toolchain; the final stage only
# the shared libraries the binaries load, bpftool and iproute2 (for
# operators' `kubectl exec`), and the binaries.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# The build dependencies are the PKGS list of scripts/install-deps.sh: one list
# for developer machines, CI and the image. The script itself is not run here:
# it also mounts bpffs, which a build container may not do. (The list also
# holds test-only packages; they stay in this stage.)
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN eval "$(sed -n '/^PKGS=(/,/^)/p' scripts/install-deps.sh)" && \
    apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PKGS[@]}" && \
    rm -rf /var/lib/apt/lists/*
COPY . .
# The source carries no .git (.dockerignore): make image passes the version.
ARG VERSION=dev
RUN make -j"$(nproc)" VERSION="${VERSION}" all

FROM ${BASE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Runtime libraries only (no compiler, no -dev package): libbpf, libxdp,
# libyaml, libelf, zlib; libmicrohttpd (metrics endpoint), libcjson and
# libcurl (registry and etcd source). bpftool and iproute2 let an operator
# inspect the node's maps and XDP attachment from inside the pod. etcdctl
# (etcd-client) runs the etcd-auth Job (deploy/daemonset/etcd-auth.yaml).
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libbpf1 libxdp1 libyaml-0-2 libelf1 zlib1g \
        libmicrohttpd12 libcjson1 libcurl4 ca-certificates \
        bpftool iproute2 etcd-client && \
    rm -rf /var/lib/apt/lists/*
# Every program make builds (fluxlbd, fluxlb, fluxlb-registry). The BPF
# programs are compiled into fluxlbd and fluxlb through their skeletons, so
# the binaries need no object file at run time; the objects are copied for
# operators (bpftool btf dump file ..., bpftool prog load for a dry run).
COPY --from=build /src/build/bin/ /usr/local/bin/
COPY --from=build /src/build/bpf/ /usr/local/lib/fluxlb/bpf/
# Fail the build, not the pod, when a runtime library is missing.
RUN ! ldd /usr/local/bin/* | grep 'not found' && \
    fluxlbd --version && \
    groupadd --system --gid 65532 fluxlb && \
    useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin fluxlb
# Non-root by default: fluxlb-registry and the CLI need no privilege. fluxlbd
# runs as uid 0 with only its capabilities (deploy/daemonset/fluxlbd.yaml says
# why: the node's bpffs is root-owned, and file capabilities would need
# allowPrivilegeEscalation).
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fluxlbd"]
CMD ["--config", "/etc/fluxlb/fluxlbd.yaml"]
