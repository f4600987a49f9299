/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Encapsulation toward a backend, Katran-compatible on the wire:
 *   IPv4 in IPv4 (RFC 2003, protocol 4)      IPv4 VIP, IPv4 backend
 *   IPv6 in IPv6 (RFC 2473, next header 41)  IPv6 VIP, IPv6 backend
 *   IPv4 in IPv6 (next header 4)             IPv4 VIP, IPv6 backend
 * The backend answers the client directly (direct server return).
 *
 * The outer source carries flow hash bits (IPv4: <encap_src4>/16 + 16 bits,
 * IPv6: <encap_src6>/96 + 32 bits, and the IPv6 flow label) so that the
 * backend's NIC spreads flows over its receive queues (RSS hashes outer
 * headers). TTL / hop limit is FLB_TTL; TOS / traffic class is copied; for
 * IPv4 in IPv4 DF and the id are copied from the inner header.
 *
 * The L2 header (Ethernet, with its VLAN tag if any) moves to the new start
 * of the frame with its MAC addresses, so the kernel still takes the frame
 * as addressed to it if the FIB step passes it up; the FIB step rewrites
 * the MACs when it sends the frame itself.
 *
 * encapsulate() is the balancer's step: the outer header for a backend,
 * with the addresses the next hop step chose (nexthop.h).
 */
#ifndef FLB_ENCAP_H
#define FLB_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "parse.h"

#define IP_DF 0x4000
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define FLB_TTL 64 /* outer header TTL / hop limit, also of our ICMP replies */

/* Grows the head by hdr bytes and moves the L2 header (l3_off: 14 or 18
 * bytes) to the new start, in 32-bit words (the MACs, and the VLAN tag when
 * there is one) with the new ethertype written after them: byte copies of a
 * void pointer would cost a load and a store per byte. Returns the new L3
 * header or NULL. hdr >= 18, so source and destination never overlap. */
static __always_inline void *grow_head(struct xdp_md *ctx, __u16 l3_off, int hdr, __be16 ethertype)
{
	void *data, *end;

	if (bpf_xdp_adjust_head(ctx, -hdr))
		return NULL;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (l3_off == ETH_HLEN + 4) {
		__u32 *to = data, *from = data + hdr;

		if (data + ETH_HLEN + 4 + hdr + IPV4_HLEN > end)
			return NULL;
		to[0] = from[0];
		to[1] = from[1];
		to[2] = from[2];
		to[3] = from[3]; /* TPID and TCI */
		*(__be16 *)(data + ETH_HLEN + 2) = ethertype;
		return data + ETH_HLEN + 4;
	}
	{
		__u32 *to = data, *from = data + hdr;

		if (data + ETH_HLEN + hdr + IPV4_HLEN > end)
			return NULL;
		to[0] = from[0];
		to[1] = from[1];
		to[2] = from[2];
		*(__be16 *)(data + ETH_HLEN - 2) = ethertype;
		return data + ETH_HLEN;
	}
}

/* The header is written in whole words from values in registers, and its
 * checksum summed from those values: no bitfield read-modify-write, no
 * second pass over the packet. */
static __always_inline int encap_ipip(struct xdp_md *ctx, const struct pkt *p, __be32 saddr,
				      __be32 daddr)
{
	struct iphdr *ip = grow_head(ctx, p->l3_off, IPV4_HLEN, bpf_htons(ETH_P_IP));
	__u16 w0, w1, w4;
	__be16 df;
	__u64 sum;

	if (!ip || (void *)(ip + 1) > (void *)(long)ctx->data_end)
		return -1;
	w0 = bpf_htons(0x4500 | p->tos);              /* version 4, IHL 5, TOS */
	w1 = bpf_htons(p->ip_len + IPV4_HLEN);
	w4 = bpf_htons((FLB_TTL << 8) | IPPROTO_IPIP);
	df = p->frag_off & bpf_htons(IP_DF);
	sum = (__u64)w0 + w1 + p->ip_id + df + w4 + saddr + daddr;
	*(__u16 *)ip = w0;
	ip->tot_len = w1;
	ip->id = p->ip_id;
	ip->frag_off = df;
	*(__u16 *)&ip->ttl = w4;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_fold64(sum);
	return 0;
}

/* IPv6 outer header for an IPv6 (next 41) or IPv4 (next 4) inner packet:
 * version, traffic class and flow label in one word (the label from the
 * flow hash), payload length, next header and hop limit in another. */
static __always_inline int encap_ip6(struct xdp_md *ctx, const struct pkt *p, const __be32 *saddr,
				     const __be32 *daddr, __u32 hash)
{
	struct ipv6hdr *ip6 = grow_head(ctx, p->l3_off, IPV6_HLEN, bpf_htons(ETH_P_IPV6));
	__u8 next = p->flow.family == FLB_AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	__be32 *w = (__be32 *)ip6;

	if (!ip6 || (void *)(ip6 + 1) > (void *)(long)ctx->data_end)
		return -1;
	w[0] = bpf_htonl(6U << 28 | (__u32)p->tos << 20 | (hash & 0xfffff));
	w[1] = bpf_htonl((__u32)p->ip_len << 16 | next << 8 | FLB_TTL);
	__builtin_memcpy(&ip6->saddr, saddr, 16);
	__builtin_memcpy(&ip6->daddr, daddr, 16);
	return 0;
}

#include "chance_encap.h" /* second chance: IPIP naming a secondary */

/* Bytes the outer header adds toward a backend. IPv4 VIPs go to IPv4 or
 * IPv6 backends; IPv6 VIPs to IPv6 backends. */
static __always_inline int encap_overhead(const struct flb_backend *be)
{
	return be->family == FLB_AF_INET ? IPV4_HLEN : IPV6_HLEN;
}

/*
 * The outer header toward backend be from source src (next_hop() chose it:
 * the encap prefix with flow hash bits). 0, or -1 when the head cannot
 * grow. The destination is the backend's own address, never the FIB's
 * (bpf_fib_lookup() replaces it with the gateway when the route has one).
 */
static __always_inline int encapsulate(struct xdp_md *ctx, const struct pkt *p,
				       const struct flb_backend *be, const __be32 *src,
				       __u32 hash)
{
	if (be->pad == FLB_CHANCE_MARK) /* bpf/chance.h */
		return chance_encap(ctx, p, be->addr[0], be->addr[1], src[0]);
	if (be->family == FLB_AF_INET)
		return encap_ipip(ctx, p, src[0], be->addr[0]);
	return encap_ip6(ctx, p, src, be->addr, hash);
}

#endif
