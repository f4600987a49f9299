/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flood defence (docs/operating.md, "Flood defence"): each CPU counts the
 * new flows it sees (packets that would create a conntrack entry) in
 * one-second windows in its own slot of flb_flood, so the count costs no
 * shared cache line. Over flb_ctl.flood_nfps in a window, the CPU is in
 * flood mode for the rest of that window and every following window that
 * is over too; the first window at or under the threshold (or a second
 * without any new flow) ends it. In flood mode a TCP SYN without an entry
 * is steered by Maglev and makes none, so a flood of spoofed SYNs cannot
 * evict established entries from the LRU. The daemon writes the node's
 * threshold divided by the online CPUs (RSS spreads flows over them).
 */
#ifndef FLB_FLOOD_H
#define FLB_FLOOD_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "maps.h"
#include "parse.h"

#define FLB_FLOOD_WINDOW_NS 1000000000ULL

/* Counts one new flow on this CPU; true when the CPU is in flood mode. */
static __always_inline bool flood_mode(const struct flb_ctl *ctl, __u64 now)
{
	__u32 zero = 0, limit = ctl->flood_nfps;
	struct flb_flood *f;

	if (!limit)
		return false;
	f = bpf_map_lookup_elem(&flb_flood, &zero);
	if (!f)
		return false;
	if (now - f->window >= FLB_FLOOD_WINDOW_NS) {
		/* A new window: the flood holds only if the one that just
		 * ended was over (and was the previous second, not older). */
		f->mode = f->mode && f->new_flows > limit &&
			  now - f->window < 2 * FLB_FLOOD_WINDOW_NS;
		f->window = now;
		f->new_flows = 0;
	}
	f->new_flows++;
	if (!f->mode && f->new_flows > limit) {
		f->mode = 1;
		count_event(FLB_E_FLOOD_ENTER);
	}
	return f->mode;
}


/* This CPU is in flood mode now (read only: counts nothing). */
static __always_inline bool flood_active(__u64 now)
{
	__u32 zero = 0;
	struct flb_flood *f = bpf_map_lookup_elem(&flb_flood, &zero);

	return f && f->mode && now - f->window < 2 * FLB_FLOOD_WINDOW_NS;
}


/*
 * Per-source-prefix limit (docs/circuit-breaking.md, node.flood.prefix): the
 * TCP SYNs of each source prefix (/len4, /len6 of flb_pfx_cfg) in one-second
 * windows, in one LRU entry shared by every CPU (atomic add); past nfps in a
 * window the SYN is dropped. Only SYNs: a prefix's established flows and
 * other protocols are never touched. A window that begins is reset by
 * whichever CPU sees it first; a count lost in that race is one SYN.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flb_pfx_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_pfx_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FLB_PFX_SIZE);
	__type(key, struct flb_pfx_key);
	__type(value, struct flb_pfx);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_pfx SEC(".maps");

/* Host bits of a/len cleared, in network order words. */
static __always_inline void pfx_cut(__be32 *a, __u32 len)
{
#pragma unroll
	for (int i = 0; i < 4; i++) {
		__u32 keep = len >= 32 ? 32 : len;

		a[i] = keep ? a[i] & bpf_htonl(~0U << (32 - keep)) : 0;
		len -= keep;
	}
}

/* True when p is a TCP SYN over its source prefix's limit. */
static __always_inline bool prefix_over(const struct pkt *p, __u64 now)
{
	struct flb_pfx_key k = { .family = p->flow.family };
	const struct flb_pfx_cfg *c;
	__u32 zero = 0, len;
	struct flb_pfx *e;

	/* SYN without ACK (0x02 of 0x12), not an ICMP error quoting one. */
	if (p->flow.proto != IPPROTO_TCP || (p->tcp_flags & 0x12) != 0x02 || p->icmp)
		return false;
	c = bpf_map_lookup_elem(&flb_pfx_cfg, &zero);
	if (!c || !c->nfps)
		return false;
	len = p->flow.family == FLB_AF_INET6 ? c->len6 : c->len4;
	k.len = len;
	__builtin_memcpy(k.addr, p->flow.src, 16);
	pfx_cut(k.addr, len);
	e = bpf_map_lookup_elem(&flb_pfx, &k);
	if (!e) {
		struct flb_pfx fresh = { .window = now, .syns = 1 };

		bpf_map_update_elem(&flb_pfx, &k, &fresh, BPF_NOEXIST);
		return c->nfps < 1;
	}
	if (now - e->window >= FLB_FLOOD_WINDOW_NS) {
		e->window = now;
		e->syns = 0;
	}
	/* The value is not used: -mcpu=v1 has only the add (XADD). */
	__sync_fetch_and_add(&e->syns, 1);
	return e->syns > c->nfps;
}

#endif
