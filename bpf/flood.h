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
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "maps.h"

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

#endif
