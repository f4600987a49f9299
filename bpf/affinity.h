/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Session affinity (docs/affinity.md): for a VIP whose flb_aff_vips entry
 * has a timeout, a client's new flow goes to the backend recorded for
 * (VIP, client address) in flb_affinity while that entry is younger than
 * the timeout and its backend is the one it was written for (same
 * generation), ACTIVE, and still a member of the VIP's table (the daemon's
 * members bitmap: not drained, down or ejected). Otherwise the normal
 * choice stands and is recorded. Traffic refreshes the entry at most once a
 * second (new flows here, established ones through affinity_touch() when
 * conntrack's own once-a-second touch is due), so an established flow pays
 * one comparison per packet. While this CPU is in flood mode no entry is
 * written: spoofed SYNs cannot push real clients out of the LRU.
 */
#ifndef FLB_AFFINITY_H
#define FLB_AFFINITY_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "flood.h"
#include "maps.h"
#include "parse.h"

#define FLB_AFF_TOUCH_NS 1000000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLB_AFF_SIZE);
	__type(key, struct flb_aff_key);
	__type(value, struct flb_aff);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct flb_aff_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_aff_vips SEC(".maps");

/* The VIP's affinity settings; NULL when it has none. */
static __always_inline const struct flb_aff_vip *aff_vip(__u32 vip_id)
{
	const struct flb_aff_vip *v = bpf_map_lookup_elem(&flb_aff_vips, &vip_id);

	return v && v->timeout_s ? v : NULL;
}

static __always_inline struct flb_aff *aff_entry(const struct flb_flow *flow, __u32 vip_id,
						 struct flb_aff_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->addr, flow->src, 16);
	k->vip_id = vip_id;
	k->family = flow->family;
	return bpf_map_lookup_elem(&flb_affinity, k);
}

/* The entry's backend when the client may still follow it; else NULL. */
static __always_inline struct flb_backend *aff_backend(const struct flb_aff_vip *v,
						       const struct flb_aff *a, __u64 now)
{
	__u32 id = a->backend, word = id / 64;
	struct flb_backend *be;

	if ((__s64)(now - a->last_seen) > (__s64)((__u64)v->timeout_s * FLB_AFF_TOUCH_NS))
		return NULL;
	if (word >= FLB_AFF_WORDS || !(v->members[word] & (1ULL << (id % 64))))
		return NULL;
	be = bpf_map_lookup_elem(&flb_backends, &id);
	if (!be || be->gen != a->gen || be->state != FLB_BE_ACTIVE)
		return NULL;
	return be;
}

/* After the new-flow choice id (0: none): the sticky client's backend
 * instead, or the choice, recorded as the client's. Returns the backend id.
 * icmp: the packet is an ICMP error (follows, records nothing).
 *
 * A global function: the verifier checks it once, on its own, and its key
 * and entry live in its own frame, not in balancer()'s (the combined stack
 * of balancer() and choose_pick() is near the 512-byte limit). */
__attribute__((noinline)) int affinity_pick(const struct flb_flow *flow, __u32 vip_id, __u32 id,
					    __u32 icmp, __u64 now)
{
	const struct flb_aff_vip *v = aff_vip(vip_id);
	struct flb_backend *be;
	struct flb_aff_key k;
	struct flb_aff *a;

	if (!v || !flow)
		return (int)id;
	a = aff_entry(flow, vip_id, &k);
	if (a && aff_backend(v, a, now)) {
		if ((__s64)(now - a->last_seen) > (__s64)FLB_AFF_TOUCH_NS)
			a->last_seen = now;
		count_event(FLB_E_AFF_HIT);
		return (int)a->backend;
	}
	if (!id || icmp || flood_active(now))
		return (int)id;
	be = bpf_map_lookup_elem(&flb_backends, &id);
	if (!be)
		return (int)id;
	if (a) {
		/* In place, as conntrack's renew(): a reader sees the old or
		 * the new backend, each checked against its generation. */
		a->backend = id;
		a->gen = be->gen;
		a->last_seen = now;
	} else {
		struct flb_aff fresh = { .backend = id, .gen = be->gen, .last_seen = now };

		bpf_map_update_elem(&flb_affinity, &k, &fresh, BPF_ANY);
	}
	count_event(FLB_E_AFF_NEW);
	return (int)id;
}

/* pick_flow()'s call: the backend id, *be its backend. */
static __always_inline __u32 affinity_steer(const struct pkt *p, __u32 vip_id, __u32 id,
					    struct flb_backend **be, __u64 now)
{
	__u32 got;

	if (!aff_vip(vip_id)) /* inline: most VIPs have no affinity, and a call costs */
		return id;
	got = (__u32)affinity_pick(&p->flow, vip_id, *be ? id : 0, p->icmp, now);
	if (got != id)
		*be = got ? bpf_map_lookup_elem(&flb_backends, &got) : NULL;
	return got;
}

/* A packet of a live conntrack entry: when conntrack's once-a-second touch
 * is due, the client's affinity entry (if it names the same backend) is
 * refreshed too, so a long connection keeps its client sticky. */
__attribute__((noinline)) int affinity_refresh(const struct flb_flow *flow, __u32 vip_id,
					       __u32 backend, __u32 gen, __u64 now)
{
	const struct flb_aff_vip *v = aff_vip(vip_id);
	struct flb_aff_key k;
	struct flb_aff *a;

	if (!v || !flow)
		return 0;
	a = aff_entry(flow, vip_id, &k);
	if (a && a->backend == backend && a->gen == gen &&
	    (__s64)(now - a->last_seen) > (__s64)FLB_AFF_TOUCH_NS)
		a->last_seen = now;
	return 0;
}

static __always_inline void affinity_touch(const struct pkt *p, __u32 vip_id,
					   const struct flb_ct *ct, __u64 now)
{
	if ((__s64)(now - ct->last_seen) <= (__s64)FLB_AFF_TOUCH_NS || p->icmp)
		return;
	affinity_refresh(&p->flow, vip_id, ct->backend, ct->gen, now);
}

#endif
