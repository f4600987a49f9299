/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * "Too big" replies for path MTU discovery through the balancer. When a
 * packet would exceed the egress MTU once encapsulated, the client is told
 * the MTU it can use (the FIB's MTU less the encapsulation overhead):
 *   IPv4 with DF: ICMP destination unreachable / fragmentation needed
 *                 (RFC 792, RFC 1191), quoting the IP header + 8 bytes;
 *   IPv6:         ICMPv6 packet too big (RFC 4443), quoting up to
 *                 FLB_PTB_QUOTE bytes of the packet.
 * The reply is written in place over the client's frame (MACs swapped, from
 * the VIP to the client) and sent back out with XDP_TX. too_big() decides
 * whether a reply is the answer at all.
 */
#ifndef FLB_ICMP_H
#define FLB_ICMP_H

#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "encap.h"
#include "parse.h"

#define FLB_PTB_QUOTE 256
#define IPV6_MIN_MTU 1280

static __always_inline int swap_macs(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return -1;
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return 0;
}

/* Shrinks a frame of cur bytes to len bytes. (The length is tracked by the
 * caller: the verifier refuses arithmetic on data_end.) */
static __always_inline int trim_to(struct xdp_md *ctx, __u32 cur, __u32 len)
{
	return bpf_xdp_adjust_tail(ctx, (int)len - (int)cur);
}

/* l3 is the L3 offset as a constant (see icmp4_frag_needed). */
static __always_inline int icmp4_frag_needed_at(struct xdp_md *ctx, const struct pkt *p, __u32 len,
						__u16 mtu, const __u16 l3)
{
	__u32 quote, icmp_len, sum;
	struct icmp4hdr *ic;
	struct iphdr *ip;
	void *end;

	ip = grow_head(ctx, l3, IPV4_HLEN + sizeof(*ic), bpf_htons(ETH_P_IP));
	if (!ip)
		return -1;
	/* The original IPv4 header sits after ours and the ICMP header. */
	{
		struct iphdr *orig = (void *)ip + IPV4_HLEN + sizeof(*ic);

		if ((void *)(orig + 1) > (void *)(long)ctx->data_end)
			return -1;
		quote = (orig->ihl * 4 + 8) & 0x7f; /* at most 60 + 8 */
		if ((void *)orig + quote > (void *)(long)ctx->data_end)
			return -1;
	}
	icmp_len = sizeof(*ic) + quote;
	if (trim_to(ctx, len + IPV4_HLEN + sizeof(*ic), l3 + IPV4_HLEN + icmp_len))
		return -1;
	if (swap_macs(ctx))
		return -1;
	ip = (void *)(long)ctx->data + l3;
	end = (void *)(long)ctx->data_end;
	ic = (void *)(ip + 1);
	if ((void *)(ic + 1) > end)
		return -1;
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(IPV4_HLEN + icmp_len);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = FLB_TTL;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = p->flow.dst[0]; /* from the VIP */
	ip->daddr = p->flow.src[0]; /* to the client */
	ip->check = ipv4_hdr_csum(ip);

	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->checksum = 0;
	ic->unused = 0;
	ic->mtu = bpf_htons(mtu);
	sum = csum_fold(csum_add_words(ic, end, icmp_len / 2, 0));
	/* The loop leaves ic without a known range: look it up again. */
	ic = (void *)(long)ctx->data + l3 + IPV4_HLEN;
	if ((void *)(ic + 1) > (void *)(long)ctx->data_end)
		return -1;
	ic->checksum = sum;
	return 0;
}

static __always_inline int icmp6_too_big_at(struct xdp_md *ctx, const struct pkt *p, __u32 len,
					    __u32 mtu, const __u16 l3)
{
	__u32 quote = p->ip_len < FLB_PTB_QUOTE ? p->ip_len : FLB_PTB_QUOTE, icmp_len, sum = 0;
	struct icmp6hdr *ic;
	struct ipv6hdr *ip6;
	void *end;

	quote &= ~1U; /* whole words: quoting one byte less is allowed */
	icmp_len = sizeof(*ic) + quote;
	ip6 = grow_head(ctx, l3, IPV6_HLEN + sizeof(*ic), bpf_htons(ETH_P_IPV6));
	if (!ip6 || trim_to(ctx, len + IPV6_HLEN + sizeof(*ic), l3 + IPV6_HLEN + icmp_len))
		return -1;
	if (swap_macs(ctx))
		return -1;
	ip6 = (void *)(long)ctx->data + l3;
	end = (void *)(long)ctx->data_end;
	ic = (void *)(ip6 + 1);
	if ((void *)(ic + 1) > end)
		return -1;
	ip6->version = 6;
	ip6->priority = 0;
	ip6->flow_lbl[0] = ip6->flow_lbl[1] = ip6->flow_lbl[2] = 0;
	ip6->payload_len = bpf_htons(icmp_len);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = FLB_TTL;
	__builtin_memcpy(&ip6->saddr, p->flow.dst, 16);
	__builtin_memcpy(&ip6->daddr, p->flow.src, 16);

	ic->icmp6_type = ICMPV6_PKT_TOOBIG;
	ic->icmp6_code = 0;
	ic->icmp6_cksum = 0;
	ic->icmp6_mtu = bpf_htonl(mtu < IPV6_MIN_MTU ? IPV6_MIN_MTU : mtu);
	/* Pseudo header: addresses, upper-layer length, next header. */
#pragma unroll
	for (int i = 0; i < 4; i++)
		sum += (p->flow.dst[i] & 0xffff) + (p->flow.dst[i] >> 16) +
		       (p->flow.src[i] & 0xffff) + (p->flow.src[i] >> 16);
	sum += bpf_htons(icmp_len) + bpf_htons(IPPROTO_ICMPV6);
	sum = csum_fold(csum_add_words(ic, end, icmp_len / 2, sum));
	ic = (void *)(long)ctx->data + l3 + IPV6_HLEN;
	if ((void *)(ic + 1) > (void *)(long)ctx->data_end)
		return -1;
	ic->icmp6_cksum = sum;
	return 0;
}

/* The L3 offset is 14 or 18: with it constant in each copy, every packet
 * offset below is constant, which the verifier follows across the head and
 * tail adjustments (a variable offset gets a new identity at each reload). */
static __always_inline int icmp4_frag_needed(struct xdp_md *ctx, const struct pkt *p, __u32 len,
					     __u16 mtu)
{
	if (p->l3_off == ETH_HLEN)
		return icmp4_frag_needed_at(ctx, p, len, mtu, ETH_HLEN);
	return icmp4_frag_needed_at(ctx, p, len, mtu, ETH_HLEN + 4);
}

static __always_inline int icmp6_too_big(struct xdp_md *ctx, const struct pkt *p, __u32 len,
					 __u32 mtu)
{
	if (p->l3_off == ETH_HLEN)
		return icmp6_too_big_at(ctx, p, len, mtu, ETH_HLEN);
	return icmp6_too_big_at(ctx, p, len, mtu, ETH_HLEN + 4);
}

/*
 * A packet over the egress MTU once encapsulated: the reason it leaves by.
 * IPv4 with DF and IPv6: the client gets a "too big" reply (TX_ICMP_TOO_BIG,
 * or DROP_ENCAP when the reply cannot be written). IPv4 without DF in an
 * IPv4 tunnel: PASS_BIG_NO_DF, not answered here: the caller encapsulates
 * it and passes it to the kernel, which fragments the outer header (its DF
 * is clear; a backend with the kernel's ipip reassembles it). No way for
 * IPv4 without DF in an IPv6 tunnel (forwarded IPv6 is never fragmented),
 * nor for an ICMP error (no errors about errors): DROP_TOO_BIG.
 */
static __always_inline enum flb_reason too_big(struct xdp_md *ctx, const struct pkt *p, __u32 len,
					       const struct flb_backend *be, __u16 mtu)
{
	int room = mtu - encap_overhead(be);

	if (p->icmp)
		return FLB_R_DROP_TOO_BIG;
	if (p->flow.family == FLB_AF_INET) {
		if (!(p->frag_off & bpf_htons(IP_DF)))
			return be->family == FLB_AF_INET ? FLB_R_PASS_BIG_NO_DF : FLB_R_DROP_TOO_BIG;
		if (icmp4_frag_needed(ctx, p, len, room < 68 ? 68 : room))
			return FLB_R_DROP_ENCAP;
	} else if (icmp6_too_big(ctx, p, len, room)) {
		return FLB_R_DROP_ENCAP;
	}
	return FLB_R_TX_ICMP_TOO_BIG;
}

#endif
