/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The next hop of the outer header and sending the frame to it. The FIB
 * request is built for the outer header to be (source from the per-flow
 * encap prefix, destination the backend), so bpf_fib_lookup() also checks
 * the MTU the encapsulated packet will need. Its answer is cached per CPU
 * and backend (flb_nexthops) so the established path skips the FIB. When
 * the neighbour is not resolved, or IPv4 without DF must be fragmented,
 * the encapsulated packet goes to the kernel, which does it.
 */
#ifndef FLB_NEXTHOP_H
#define FLB_NEXTHOP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "encap.h"
#include "maps.h"
#include "parse.h"

#define AF_INET 2
#define AF_INET6 10
#define FLB_NEXTHOP_TTL_NS 1000000000ULL /* a changed neighbour is seen within 1 s */

/* Where the encapsulated packet goes, from the cache or the FIB. */
struct hop {
	__be32 src[4];    /* outer source: the encap prefix + flow hash bits */
	__u32 ifindex;    /* egress */
	__u32 mtu;        /* BPF_FIB_LKUP_RET_FRAG_NEEDED: the MTU to report */
	__u32 mac[3];     /* destination then source MAC, as in the frame */
};
_Static_assert(__builtin_offsetof(struct flb_nexthop, dmac) % 4 == 0 &&
		       __builtin_offsetof(struct flb_nexthop, smac) ==
			       __builtin_offsetof(struct flb_nexthop, dmac) + ETH_ALEN,
	       "the cached MACs are read as three words");

/*
 * The FIB's answer for the outer header (only on a cache miss: building
 * the request is part of what the cache saves). A complete answer fills
 * the cache entry nh; the FIB reports the MTU only when a packet does not
 * fit, so filling asks again with the largest length to learn the route's
 * MTU (PMTU exceptions and locked route MTUs included).
 */
static __always_inline int fib_next_hop(struct xdp_md *ctx, const struct pkt *p,
					const struct flb_backend *be, __u32 tot_len, __u64 now,
					struct flb_nexthop *nh, struct hop *h)
{
	struct bpf_fib_lookup fib = {
		.ifindex = ctx->ingress_ifindex,
		.tot_len = tot_len,
	};
	__u32 mtu;
	int rc;

	if (be->family == FLB_AF_INET) {
		fib.family = AF_INET;
		fib.tos = p->tos;
		fib.l4_protocol = IPPROTO_IPIP;
		fib.ipv4_src = h->src[0];
		fib.ipv4_dst = be->addr[0];
	} else {
		fib.family = AF_INET6;
		fib.l4_protocol = p->flow.family == FLB_AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
		__builtin_memcpy(fib.ipv6_src, h->src, 16);
		__builtin_memcpy(fib.ipv6_dst, be->addr, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	h->ifindex = fib.ifindex;
	h->mtu = fib.mtu_result;
	__builtin_memcpy(h->mac, fib.dmac, ETH_ALEN);
	__builtin_memcpy((__u8 *)h->mac + ETH_ALEN, fib.smac, ETH_ALEN);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || !nh)
		return rc;
	fib.tot_len = 0xffff;
	fib.ifindex = ctx->ingress_ifindex;
	mtu = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) == BPF_FIB_LKUP_RET_FRAG_NEEDED ?
		      fib.mtu_result : 0xffff;
	nh->expires = now + FLB_NEXTHOP_TTL_NS;
	nh->gen = be->gen;
	nh->ingress = ctx->ingress_ifindex;
	nh->ifindex = h->ifindex;
	nh->mtu = mtu;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	return rc;
}

/*
 * The next hop toward backend id: fills h (the outer source carries flow
 * hash bits, see encap.h) and returns the FIB's answer (BPF_FIB_LKUP_RET_*).
 * The FIB's answer is cached per CPU (flb_nexthops) for FLB_NEXTHOP_TTL_NS;
 * only complete answers are cached, and a packet over the cached MTU asks
 * the FIB again, whose MTU check (routes' MTU locks included) decides.
 * Done before encapsulating: a "too big" reply needs the packet unchanged.
 */
static __always_inline int next_hop(struct xdp_md *ctx, const struct pkt *p, __u32 id,
				    const struct flb_backend *be, const struct flb_ctl *ctl,
				    __u32 hash, __u64 now, struct hop *h)
{
	struct flb_nexthop *nh = bpf_map_lookup_elem(&flb_nexthops, &id);
	__u32 tot_len = p->ip_len + encap_overhead(be);

	if (be->family == FLB_AF_INET) {
		h->src[0] = (ctl->encap_src4 & bpf_htonl(0xffff0000)) | bpf_htonl(hash & 0xffff);
	} else {
		h->src[0] = ctl->encap_src6[0];
		h->src[1] = ctl->encap_src6[1];
		h->src[2] = ctl->encap_src6[2];
		h->src[3] = bpf_htonl(hash);
	}
	if (nh && nh->gen == be->gen && nh->ingress == ctx->ingress_ifindex && now < nh->expires &&
	    tot_len <= nh->mtu) {
		/* dmac and smac follow each other at a 4-byte boundary. */
		const __u32 *mac = (const __u32 *)nh->dmac;

		h->ifindex = nh->ifindex;
		h->mac[0] = mac[0];
		h->mac[1] = mac[1];
		h->mac[2] = mac[2];
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	return fib_next_hop(ctx, p, be, tot_len, now, nh, h);
}

/*
 * Sends the encapsulated frame as the next hop step decided (rc): to the
 * kernel when it must fragment it or resolve the neighbour, else with the
 * next hop's MACs out of the ingress NIC (XDP_TX) or another (redirect).
 */
static __always_inline int send_frame(struct xdp_md *ctx, const struct hop *h, int rc)
{
	__u32 *data = (void *)(long)ctx->data;

	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return count_reason(FLB_R_PASS_BIG_NO_DF, XDP_PASS);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return count_reason(FLB_R_PASS_NO_NEIGH, XDP_PASS);
	if ((void *)data + ETH_HLEN > (void *)(long)ctx->data_end)
		return count_reason(FLB_R_DROP_ENCAP, XDP_DROP);
	data[0] = h->mac[0];
	data[1] = h->mac[1];
	data[2] = h->mac[2];
	if (h->ifindex == ctx->ingress_ifindex)
		return count_reason(FLB_R_FWD_TX, XDP_TX);
	count_reason(FLB_R_FWD_REDIRECT, 0);
	return bpf_redirect(h->ifindex, 0);
}

#endif
