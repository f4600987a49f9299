/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPIP encapsulation (RFC 2003) toward a backend, Katran-compatible on the
 * wire: the original frame's IP packet becomes the payload of a new IPv4
 * header (protocol 4) from the encapsulation source to the backend. The
 * backend answers the client directly (direct server return).
 *
 * The outer source is <encap_src4 prefix>.<16 bits of the flow hash>, so a
 * backend's NIC spreads flows over its receive queues (RSS hashes outer
 * addresses only). TTL is FLB_TTL, TOS and DF are copied from the inner
 * header, the id is the inner id (unique enough for a header that is only
 * fragmented when DF is clear).
 */
#ifndef FLB_ENCAP_H
#define FLB_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "parse.h"

#define IP_DF 0x4000

/* Grows the head by one IPv4 header and writes Ethernet + outer IPv4. The
 * MAC addresses are copied from the original frame (so the kernel still
 * accepts it as addressed to us if the FIB step has to pass it up); the FIB
 * step rewrites them. Returns 0 or -1. */
static __always_inline int encap_ipip(struct xdp_md *ctx, const struct pkt *p,
				      __be32 saddr, __be32 daddr)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	void *data, *end;

	if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr)))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	/* ip + 1 is also the end of the original Ethernet header. */
	if ((void *)(ip + 1) > end)
		return -1;

	__builtin_memcpy(eth->h_dest, (void *)eth + sizeof(*ip), 2 * ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = p->tos;
	ip->tot_len = bpf_htons(p->ip_len + sizeof(struct iphdr));
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

#endif
