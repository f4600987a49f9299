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
 * bytes) to the new start. Returns the new L3 header or NULL. hdr >= 18,
 * so source and destination never overlap. */
static __always_inline void *grow_head(struct xdp_md *ctx, __u16 l3_off, int hdr, __be16 ethertype)
{
	void *data, *end;

	if (bpf_xdp_adjust_head(ctx, -hdr))
		return NULL;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (l3_off == ETH_HLEN + 4) {
		if (data + ETH_HLEN + 4 + hdr + IPV4_HLEN > end)
			return NULL;
		__builtin_memcpy(data, data + hdr, ETH_HLEN + 4);
		*(__be16 *)(data + ETH_HLEN + 2) = ethertype;
		return data + ETH_HLEN + 4;
	}
	if (data + ETH_HLEN + hdr + IPV4_HLEN > end)
		return NULL;
	__builtin_memcpy(data, data + hdr, ETH_HLEN);
	*(__be16 *)(data + ETH_HLEN - 2) = ethertype;
	return data + ETH_HLEN;
}

static __always_inline int encap_ipip(struct xdp_md *ctx, const struct pkt *p, __be32 saddr,
				      __be32 daddr)
{
	struct iphdr *ip = grow_head(ctx, p->l3_off, IPV4_HLEN, bpf_htons(ETH_P_IP));

	if (!ip || (void *)(ip + 1) > (void *)(long)ctx->data_end)
		return -1;
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = p->tos;
	ip->tot_len = bpf_htons(p->ip_len + IPV4_HLEN);
	ip->id = p->ip_id;
	ip->frag_off = p->frag_off & bpf_htons(IP_DF);
	ip->ttl = FLB_TTL;
	ip->protocol = IPPROTO_IPIP;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = ipv4_hdr_csum(ip);
	return 0;
}

/* IPv6 outer header for an IPv6 (next 41) or IPv4 (next 4) inner packet. */
static __always_inline int encap_ip6(struct xdp_md *ctx, const struct pkt *p, const __be32 *saddr,
				     const __be32 *daddr, __u32 hash)
{
	struct ipv6hdr *ip6 = grow_head(ctx, p->l3_off, IPV6_HLEN, bpf_htons(ETH_P_IPV6));

	if (!ip6 || (void *)(ip6 + 1) > (void *)(long)ctx->data_end)
		return -1;
	ip6->version = 6;
	ip6->priority = p->tos >> 4;
	ip6->flow_lbl[0] = (p->tos << 4) | ((hash >> 16) & 0x0f);
	ip6->flow_lbl[1] = hash >> 8;
	ip6->flow_lbl[2] = hash;
	ip6->payload_len = bpf_htons(p->ip_len);
	ip6->nexthdr = p->flow.family == FLB_AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
	ip6->hop_limit = FLB_TTL;
	__builtin_memcpy(&ip6->saddr, saddr, 16);
	__builtin_memcpy(&ip6->daddr, daddr, 16);
	return 0;
}

/* Bytes the outer header adds toward a backend. IPv4 VIPs go to IPv4 or
 * IPv6 backends; IPv6 VIPs to IPv6 backends. */
static __always_inline int encap_overhead(const struct flb_backend *be)
{
	return be->family == FLB_AF_INET ? IPV4_HLEN : IPV6_HLEN;
}

/*
 * The outer header toward backend be, from the request next_hop() built in
 * fib. 0, or -1 when the head cannot grow. The destination is the backend's
 * own address, never fib's: bpf_fib_lookup() replaces it with the gateway
 * when the route has one. The source is fib's (the FIB leaves it alone).
 */
static __always_inline int encapsulate(struct xdp_md *ctx, const struct pkt *p,
				       const struct flb_backend *be,
				       const struct bpf_fib_lookup *fib, __u32 hash)
{
	if (be->family == FLB_AF_INET)
		return encap_ipip(ctx, p, fib->ipv4_src, be->addr[0]);
	return encap_ip6(ctx, p, fib->ipv6_src, be->addr, hash);
}

#endif
