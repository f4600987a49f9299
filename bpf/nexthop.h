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

/*
 * bpf_fib_lookup() on the outer header, or its answer cached per CPU
 * (flb_nexthops) for FLB_NEXTHOP_TTL_NS. Only complete answers are cached;
 * a packet over the cached device MTU asks the FIB again, whose MTU check
 * (routes' MTU locks included) decides.
 */
static __always_inline int cached_fib_lookup(struct xdp_md *ctx, __u32 id,
					     const struct flb_backend *be, __u64 now,
					     struct bpf_fib_lookup *fib)
{
	struct flb_nexthop *nh = bpf_map_lookup_elem(&flb_nexthops, &id);
	__u32 mtu = 0;
	int rc;

	if (nh && nh->gen == be->gen && nh->ingress == ctx->ingress_ifindex && now < nh->expires &&
	    fib->tot_len <= nh->mtu) {
		fib->ifindex = nh->ifindex;
		__builtin_memcpy(fib->dmac, nh->dmac, ETH_ALEN);
		__builtin_memcpy(fib->smac, nh->smac, ETH_ALEN);
		return BPF_FIB_LKUP_RET_SUCCESS;
	}
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || !nh)
		return rc;
	/* The FIB reports the MTU only when a packet does not fit: ask again
	 * with the largest length to learn the route's MTU (PMTU exceptions
	 * and locked route MTUs included), only when filling the cache. */
	{
		struct bpf_fib_lookup probe = *fib;

		probe.tot_len = 0xffff;
		probe.ifindex = ctx->ingress_ifindex;
		mtu = bpf_fib_lookup(ctx, &probe, sizeof(probe), 0) == BPF_FIB_LKUP_RET_FRAG_NEEDED ?
			      probe.mtu_result : 0xffff;
	}
	nh->expires = now + FLB_NEXTHOP_TTL_NS;
	nh->gen = be->gen;
	nh->ingress = ctx->ingress_ifindex;
	nh->ifindex = fib->ifindex;
	nh->mtu = mtu;
	__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
	return rc;
}

/*
 * The next hop toward backend id: fills fib with the outer header to be
 * (the outer source carries flow hash bits, see encap.h) and returns the
 * FIB's answer (BPF_FIB_LKUP_RET_*). Done before encapsulating: a "too big"
 * reply needs the packet still unchanged. encapsulate() takes the outer
 * addresses from fib.
 */
static __always_inline int next_hop(struct xdp_md *ctx, const struct pkt *p, __u32 id,
				    const struct flb_backend *be, const struct flb_ctl *ctl,
				    __u32 hash, __u64 now, struct bpf_fib_lookup *fib)
{
	fib->ifindex = ctx->ingress_ifindex;
	fib->tot_len = p->ip_len + encap_overhead(be);
	if (be->family == FLB_AF_INET) {
		fib->family = AF_INET;
		fib->tos = p->tos;
		fib->l4_protocol = IPPROTO_IPIP;
		fib->ipv4_src = (ctl->encap_src4 & bpf_htonl(0xffff0000)) | bpf_htonl(hash & 0xffff);
		fib->ipv4_dst = be->addr[0];
	} else {
		fib->family = AF_INET6;
		fib->l4_protocol = p->flow.family == FLB_AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
		fib->ipv6_src[0] = ctl->encap_src6[0];
		fib->ipv6_src[1] = ctl->encap_src6[1];
		fib->ipv6_src[2] = ctl->encap_src6[2];
		fib->ipv6_src[3] = bpf_htonl(hash);
		__builtin_memcpy(fib->ipv6_dst, be->addr, 16);
	}
	return cached_fib_lookup(ctx, id, be, now, fib);
}

/*
 * Sends the encapsulated frame as the next hop step decided (rc): to the
 * kernel when it must fragment it or resolve the neighbour, else with the
 * next hop's MACs out of the ingress NIC (XDP_TX) or another (redirect).
 */
static __always_inline int send_frame(struct xdp_md *ctx, const struct bpf_fib_lookup *fib, int rc)
{
	void *data = (void *)(long)ctx->data;

	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return count_reason(FLB_R_PASS_BIG_NO_DF, XDP_PASS);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return count_reason(FLB_R_PASS_NO_NEIGH, XDP_PASS);
	if (data + ETH_HLEN > (void *)(long)ctx->data_end)
		return count_reason(FLB_R_DROP_ENCAP, XDP_DROP);
	__builtin_memcpy(data, fib->dmac, ETH_ALEN);
	__builtin_memcpy(data + ETH_ALEN, fib->smac, ETH_ALEN);
	if (fib->ifindex == ctx->ingress_ifindex)
		return count_reason(FLB_R_FWD_TX, XDP_TX);
	count_reason(FLB_R_FWD_REDIRECT, 0);
	return bpf_redirect(fib->ifindex, 0);
}

#endif
