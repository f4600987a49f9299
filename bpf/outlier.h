/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Passive outlier detection, the dataplane half (docs/circuit-breaking.md):
 * per backend, per CPU, the SYN retransmits of the flows it was given. A
 * SYN whose flow has an entry made by a SYN (FLB_CT_SYN) less than
 * FLB_OUTLIER_RETRANS_S ago, with no other packet of the client since, is
 * the client's TCP retrying: the backend did not answer. Any non-SYN packet
 * of the client clears the mark (the handshake went on), so a connection
 * that completed and later reuses its 5-tuple is never counted. The daemon
 * divides these by the backend's new flows (flb_be_stats) per window and
 * ejects the backend when the ratio is too high (user/fluxlbd/outlier.c).
 * A SYN flood in flood mode makes no entries: nothing is counted then.
 */
#ifndef FLB_OUTLIER_H
#define FLB_OUTLIER_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "maps.h"
#include "parse.h"

/* Linux retries a SYN after 1, 2, 4, 8 s: the first three retries of an
 * attempt fall within this of the entry's (re)write. */
#define FLB_OUTLIER_RETRANS_S 10
#define FLB_OUTLIER_RETRANS_NS (FLB_OUTLIER_RETRANS_S * 1000000000ULL)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_outlier SEC(".maps");

/* A SYN; ct: its flow's entry (NULL: none). The entry the SYN makes is
 * marked in *flags; a retransmit is counted against the entry's backend. */
static __always_inline void outlier_syn(const struct flb_ct *ct, __u64 now, __u32 *flags)
{
	*flags |= FLB_CT_SYN;
	if (!ct || !(ct->flags & FLB_CT_SYN) ||
	    (__s64)(now - ct->last_seen) > (__s64)FLB_OUTLIER_RETRANS_NS)
		return;
	count_one(&flb_outlier, ct->backend);
	count_event(FLB_E_SYN_RETRANS);
}

/* Another packet of a live entry's flow: no longer a bare SYN. */
static __always_inline void outlier_seen(struct flb_ct *ct, const struct pkt *p)
{
	if ((ct->flags & FLB_CT_SYN) && !p->icmp)
		ct->flags &= ~FLB_CT_SYN;
}

#endif
