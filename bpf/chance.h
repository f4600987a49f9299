/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Second chance, the balancer's side (docs/bgp.md "Second chance"). When
 * the router's ECMP set changes, flows move to a node without their
 * conntrack entry; if the VIP's table changed since they started, the
 * current table may name another backend than the one holding the
 * connection. fluxlbd keeps the table each swap replaced (flb_rings_prev)
 * for a window (flb_chance). A TCP packet other than a SYN that found no
 * entry, whose slot in that previous table names another backend, goes to
 * the current backend with the previous one as secondary (an IPv4 option,
 * bpf/chance_encap.h); the backend's decap forwards it there when it has
 * no socket for it (bpf/chance_decap.h).
 *
 * Such a packet makes no conntrack entry: every packet of the flow takes
 * this same path (both tables are the same on every node), so the flow
 * keeps reaching whichever of the two backends holds it, here and on any
 * node it moves to next. An entry for the current backend would send the
 * next packets there without the secondary, to be reset. The cost is two
 * table lookups per packet of such flows, until the window ends.
 *
 * IPv4 backends only: an IPv6 or mixed pair is sent as before (counted).
 */
#ifndef FLB_CHANCE_H
#define FLB_CHANCE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_hash.h"
#include "flb_reasons.h"
#include "encap.h"
#include "maps.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct flb_ring);
} flb_rings_prev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct flb_chance);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_chance SEC(".maps");

/* The packet's current backend with its secondary: one per CPU, valid for
 * the packet being handled (XDP runs a packet to its end on one CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flb_backend);
} flb_chance_be SEC(".maps");

/* Slot hash % M of an outer map's table for vip_id; 0: none. */
static __always_inline __u32 chance_slot(void *rings, __u32 vip_id, __u32 hash)
{
	__u32 zero = 0, slot, m, *id, *mp;
	void *table = bpf_map_lookup_elem(rings, &vip_id);

	if (!table)
		return 0;
	mp = bpf_map_lookup_elem(table, &zero);
	if (!mp || !(m = *mp))
		return 0;
	slot = hash % m + 1;
	id = bpf_map_lookup_elem(table, &slot);
	return id ? *id : 0;
}

static __always_inline bool takes_flows(const struct flb_backend *b)
{
	return b->state == FLB_BE_ACTIVE || b->state == FLB_BE_DRAINING;
}

/*
 * For a TCP non-SYN packet without an entry: the current backend's id when
 * the VIP's previous table (within its window) names another backend that
 * still takes flows, with a copy of the current backend marked with that
 * secondary left in flb_chance_be; else 0 (nothing decided).
 *
 * A global function: checked once by the verifier, and its locals live in
 * its own frame, not in balancer()'s (whose stack, with choose_pick()'s,
 * is near the 512-byte limit).
 */
__attribute__((noinline)) int chance_choose(const struct flb_flow *flow, __u32 vip_id, __u64 now)
{
	struct flb_backend *cur, *prev, *out;
	struct flb_chance *c;
	__u32 zero = 0, id, pid, hash;

	if (!flow)
		return 0;
	c = bpf_map_lookup_elem(&flb_chance, &vip_id);
	if (!c || !c->expires || (__s64)(now - c->expires) >= 0) {
		count_event(FLB_E_CHANCE_NO_PREV);
		return 0;
	}
	hash = flb_flow_hash(flow);
	id = chance_slot(&flb_rings, vip_id, hash);
	pid = chance_slot(&flb_rings_prev, vip_id, hash);
	cur = id ? bpf_map_lookup_elem(&flb_backends, &id) : NULL;
	prev = pid && pid != id ? bpf_map_lookup_elem(&flb_backends, &pid) : NULL;
	if (!cur || !prev || !takes_flows(prev) || prev->addr[0] == cur->addr[0]) {
		count_event(FLB_E_CHANCE_SAME);
		return 0;
	}
	if (cur->family != FLB_AF_INET || prev->family != FLB_AF_INET) {
		count_event(FLB_E_CHANCE_FAMILY);
		return 0;
	}
	out = bpf_map_lookup_elem(&flb_chance_be, &zero);
	if (!out)
		return 0;
	*out = *cur;
	out->addr[1] = prev->addr[0];
	out->pad = FLB_CHANCE_MARK;
	count_event(FLB_E_CHANCE_SENT);
	return (int)id;
}

/*
 * pick_flow()'s hook for a TCP non-SYN packet without an entry. True: the
 * packet goes to backend *id, *be a copy of it marked with the secondary,
 * *hash the flow hash, and no entry is made. False: nothing decided, the
 * usual pick follows.
 */
static __always_inline bool chance_pick(const struct pkt *p, __u32 vip_id, __u64 now,
					struct flb_backend **be, __u32 *hash, __u32 *id)
{
	__u32 zero = 0, got;

	if (p->flow.proto != IPPROTO_TCP)
		return false;
	got = (__u32)chance_choose(&p->flow, vip_id, now);
	if (!got || !(*be = bpf_map_lookup_elem(&flb_chance_be, &zero)))
		return false;
	*hash = flb_flow_hash(&p->flow);
	*id = got;
	return true;
}

#endif
