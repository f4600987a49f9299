/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counting, shared by the balancer and decap: each program's exits are
 * counted by reason (include/flb_reasons.h) in a per-CPU array of __u64,
 * summed in userspace. Which array is the program's: the balancer's pinned
 * flb_reasons (bpf/maps.h), decap's flb_dcp_reasons. The program declares
 * that map and names it in FLB_REASON_MAP before including this file.
 */
#ifndef FLB_COUNT_H
#define FLB_COUNT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef FLB_REASON_MAP
#error "declare the program's reason map and name it in FLB_REASON_MAP before count.h"
#endif

/* Adds one to element idx of a per-CPU array of __u64 counters. */
static __always_inline void count_one(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		*v += 1;
}

/* Counts the reason a packet leaves by and returns its XDP action, so that
 * every exit reads `return count_reason(FLB_R_..., XDP_...)`. */
static __always_inline int count_reason(__u32 reason, int action)
{
	count_one(&FLB_REASON_MAP, reason);
	return action;
}

#endif
