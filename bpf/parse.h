/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsing over a cursor, one parse_<hdr>() per header (after
 * xdp-tools' parsing_helpers.h). Contract: each parser checks that its whole
 * header lies before data_end, advances the cursor past it, and returns
 * FLB_R_MAX on success or the reason the packet is not balanced. Nothing here
 * writes to the packet.
 */
#ifndef FLB_PARSE_H
#define FLB_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"

#define FLB_OK FLB_R_MAX

struct cursor {
	void *pos;
	void *end;
};

/* What the balancer needs to know about a packet: the flow key plus the
 * fields the outer header copies. */
struct pkt {
	struct flb_flow flow;
	__u16 l3_off;      /* offset of the IP header from the frame start */
	__u16 ip_len;      /* IPv4 total length (host order) */
	__u8 tos;
	__u8 tcp_flags;    /* byte 13 of the TCP header; 0 for UDP */
	__be16 frag_off;   /* IPv4 flags + fragment offset, network order */
	__be16 ip_id;
	__u16 pad;
};

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

static __always_inline int parse_eth(struct cursor *c, __be16 *proto)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return FLB_R_BAD_ETH;
	*proto = eth->h_proto;
	c->pos = eth + 1;
	return FLB_OK;
}

/* IPv4 with any IHL >= 5; options are skipped, not interpreted. */
static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p, void *frame)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return FLB_R_BAD_IPV4;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip))
		return FLB_R_BAD_IPV4;
	if (c->pos + hlen > c->end)
		return FLB_R_BAD_IPV4;
	p->ip_len = bpf_ntohs(ip->tot_len);
	if (p->ip_len < hlen || c->pos + p->ip_len > c->end)
		return FLB_R_BAD_IPV4;

	p->l3_off = c->pos - frame;
	p->tos = ip->tos;
	p->frag_off = ip->frag_off;
	p->ip_id = ip->id;
	p->flow.family = FLB_AF_INET;
	p->flow.proto = ip->protocol;
	p->flow.src[0] = ip->saddr;
	p->flow.dst[0] = ip->daddr;
	c->pos += hlen;

	/* More-fragments set or a non-zero offset: only the first fragment
	 * has ports, so the 5-tuple is not known for the others. */
	if (ip->frag_off & bpf_htons(0x3fff))
		return FLB_R_PASS_FRAGMENT;
	return FLB_OK;
}

static __always_inline int parse_l4(struct cursor *c, struct pkt *p)
{
	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) > c->end || th->doff < 5)
			return FLB_R_BAD_L4;
		p->flow.sport = th->source;
		p->flow.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return FLB_OK;
	}
	if (p->flow.proto == IPPROTO_UDP) {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end)
			return FLB_R_BAD_L4;
		p->flow.sport = uh->source;
		p->flow.dport = uh->dest;
		return FLB_OK;
	}
	return FLB_R_PASS_L4_OTHER;
}

#endif
