/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * When a conntrack entry has expired: one rule compiled into the balancer
 * (which ignores an expired entry and replaces it), the daemon (which counts
 * a draining backend's flows) and the CLI (which shows an entry's state), so
 * the three never disagree about which flows are still alive.
 *
 * An entry lives its protocol's timeout from flb_ctl after its last packet
 * (0: no timeout); once the client has sent a FIN or an RST (FLB_CT_CLOSING)
 * it lives FLB_CT_CLOSE_GRACE_S after its last packet, or the timeout when
 * that is shorter. Why the grace is safe for half-closed connections is in
 * docs/architecture.md, "Conntrack".
 */
#ifndef FLB_CT_H
#define FLB_CT_H

#include <linux/types.h>
#include "flb_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define FLB_CT_NS_PER_S 1000000000ULL
#define FLB_CT_PROTO_TCP 6 /* IPPROTO_TCP: <netinet/in.h> and <linux/in.h> clash */

/* How long the entry lives after its last packet; 0: forever. */
static __always_inline __u64 flb_ct_life_ns(const struct flb_ct *ct, __u8 proto,
					    const struct flb_ctl *ctl)
{
	__u64 tmo = (__u64)(proto == FLB_CT_PROTO_TCP ? ctl->tcp_timeout_s : ctl->udp_timeout_s) *
		    FLB_CT_NS_PER_S;
	__u64 grace = FLB_CT_CLOSE_GRACE_S * FLB_CT_NS_PER_S;

	if ((ct->flags & FLB_CT_CLOSING) && (!tmo || tmo > grace))
		return grace;
	return tmo;
}

/* Idle past its life at now_ns (CLOCK_MONOTONIC, as bpf_ktime_get_ns()).
 * Signed: a reader's now may precede a last_seen that another CPU wrote
 * after it was read; such an entry is not idle at all. */
static __always_inline int flb_ct_expired(const struct flb_ct *ct, __u8 proto,
					  const struct flb_ctl *ctl, __u64 now_ns)
{
	__u64 life = flb_ct_life_ns(ct, proto, ctl);

	return life && (__s64)(now_ns - ct->last_seen) > (__s64)life;
}

#endif
