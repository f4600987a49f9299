/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The balancer's maps, pinned by name (LIBBPF_PIN_BY_NAME) under the folder
 * the loader names, so they outlive the daemon and bpftool can read them.
 * Layouts live in include/flb_abi.h; this file declares them, and the
 * balancer's counters over them (reasons through bpf/count.h).
 */
#ifndef FLB_MAPS_H
#define FLB_MAPS_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flb_ctl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, struct flb_vip_key);
	__type(value, struct flb_vip);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, struct flb_vip_addr);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_vip_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLB_FRAG_SIZE);
	__type(key, struct flb_frag_key);
	__type(value, struct flb_ct);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_frags SEC(".maps");

/*
 * One Maglev table per VIP, indexed by flb_vip.id. An inner table is an
 * array of M + 1 u32: element 0 holds M, elements 1..M backend ids (0: no
 * backend). Keeping M inside the table means a table and its size are
 * swapped together in one map update. BPF_F_INNER_MAP lets the inner maps
 * differ in size.
 */
struct flb_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
	__uint(map_flags, BPF_F_INNER_MAP);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct flb_ring);
} flb_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct flb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_backends SEC(".maps");

/*
 * FLB_CT_PERCPU (bench only: bench/bench.mk builds a second object with it
 * for the multi-CPU row of bench_dp): the same table with one LRU list per
 * CPU (BPF_F_NO_COMMON_LRU) instead of one shared list. Lookups stay global,
 * so no datapath code changes; each CPU evicts only among the entries it
 * inserted, from its own FLB_CT_SIZE / nr_possible_cpus share.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLB_CT_SIZE);
	__type(key, struct flb_flow);
	__type(value, struct flb_ct);
#ifdef FLB_CT_PERCPU
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
#endif
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_R_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_E_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct flb_traffic);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct flb_traffic);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_be_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct flb_nexthop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_nexthops SEC(".maps");

/* Per CPU: the new-flow rate and flood mode (bpf/flood.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flb_flood);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_flood SEC(".maps");

#define FLB_REASON_MAP flb_reasons
#include "count.h"

/* Events that are not exits (include/flb_reasons.h): a packet counts any
 * number of them. */
static __always_inline void count_event(__u32 event)
{
	count_one(&flb_events, event);
}

static __always_inline void count_traffic(void *map, __u32 idx, __u32 bytes, bool new_flow)
{
	struct flb_traffic *t = bpf_map_lookup_elem(map, &idx);

	if (!t)
		return;
	t->packets++;
	t->bytes += bytes;
	if (new_flow) /* no write of the line's third word per established packet */
		t->new_flows++;
}

#endif
