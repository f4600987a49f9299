/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The node side's shared flow table (include/flb_abi.h, docs/pods.md):
 * declared by both bpf/decap.bpf.c, which writes it, and bpf/rnat.bpf.c,
 * which reads it; fluxlbd's node role hands the decap object's map to the
 * rnat object (bpf_map__reuse_fd) and pins it as flb_node_flows.
 */
#ifndef FLB_NODE_MAPS_H
#define FLB_NODE_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLB_NODE_FLOWS);
	__type(key, struct flb_nflow_key);
	__type(value, struct flb_nflow);
} flb_node_flows SEC(".maps");

#endif
