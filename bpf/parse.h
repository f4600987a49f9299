/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsing over a cursor, one parse_<hdr>() per header (after
 * xdp-tools' parsing_helpers.h). Contract: each parser checks that its whole
 * header lies before the end, advances the cursor past it, and returns
 * FLB_OK on success or the reason the packet is not balanced. Nothing here
 * writes to the packet. The result is a struct pkt: the flow key plus the
 * fields the outer header and the fragment and ICMP logic need.
 */
#ifndef FLB_PARSE_H
#define FLB_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"

#define FLB_OK FLB_R_MAX
#define FLB_MAX_EXT_HDRS 8 /* IPv6 extension headers walked before giving up */

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

/* ICMP header (RFC 792); <linux/icmp.h> drags in libc headers. */
struct icmp4hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu;        /* next-hop MTU of "fragmentation needed" (RFC 1191) */
};
#define ICMP_DEST_UNREACH   3
#define ICMP_FRAG_NEEDED    4
#define ICMP_TIME_EXCEEDED  11
#define ICMP_PARAMETERPROB  12

struct cursor {
	void *pos;
	void *end;         /* end of the frame */
	void *start;       /* start of the frame */
	__u32 limit;       /* end of the IP packet (its own length), from start */
};

/* A header ending at hdr_end lies within the frame and within the IP
 * packet's own length (a frame may carry padding beyond the packet). */
static __always_inline bool fits(const struct cursor *c, const void *hdr_end)
{
	return hdr_end <= c->end && (__u32)(hdr_end - c->start) <= c->limit;
}

enum { FRAG_NONE, FRAG_FIRST, FRAG_LATER };

struct pkt {
	struct flb_flow flow;
	__u16 l3_off;      /* offset of the IP header: 14, or 18 behind a VLAN tag */
	__u16 ip_len;      /* the whole IP packet: IPv4 total length, IPv6 40 + payload */
	__u8 tos;          /* IPv4 TOS / IPv6 traffic class */
	__u8 tcp_flags;    /* byte 13 of the TCP header; 0 otherwise */
	__be16 frag_off;   /* IPv4 flags + fragment offset, network order */
	__be16 ip_id;      /* IPv4 identification */
	__u8 frag;         /* FRAG_* */
	__u8 icmp;         /* 1: an ICMP error, flow is the quoted flow reversed */
	__be32 frag_id;    /* identification of a fragmented datagram */
};

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* Ethernet and at most one 802.1Q/802.1ad tag. */
static __always_inline int parse_eth(struct cursor *c, struct pkt *p, __be16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vh;

	if ((void *)(eth + 1) > c->end)
		return FLB_R_BAD_ETH;
	*proto = eth->h_proto;
	c->pos = eth + 1;
	p->l3_off = sizeof(*eth);
	if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
		return FLB_OK;
	vh = c->pos;
	if ((void *)(vh + 1) > c->end)
		return FLB_R_BAD_ETH;
	*proto = vh->proto;
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD))
		return FLB_R_PASS_QINQ;
	c->pos = vh + 1;
	p->l3_off += sizeof(*vh);
	return FLB_OK;
}

/* IPv4 with any IHL >= 5; options are skipped, not interpreted. */
static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;
	__u16 off;

	if ((void *)(ip + 1) > c->end)
		return FLB_R_BAD_IPV4;
	hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip) || c->pos + hlen > c->end)
		return FLB_R_BAD_IPV4;
	p->ip_len = bpf_ntohs(ip->tot_len);
	if (p->ip_len < hlen || c->pos + p->ip_len > c->end)
		return FLB_R_BAD_IPV4;

	c->limit = (__u32)((void *)ip - c->start) + p->ip_len;
	p->tos = ip->tos;
	p->frag_off = ip->frag_off;
	p->ip_id = ip->id;
	p->flow.family = FLB_AF_INET;
	p->flow.proto = ip->protocol;
	p->flow.src[0] = ip->saddr;
	p->flow.dst[0] = ip->daddr;
	c->pos += hlen;

	/* MF set or a non-zero offset: a fragment. Only the first has ports. */
	off = bpf_ntohs(ip->frag_off);
	if (off & 0x3fff) {
		p->frag = (off & 0x1fff) ? FRAG_LATER : FRAG_FIRST;
		p->frag_id = ip->id;
	}
	return FLB_OK;
}

struct ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;   /* offset << 3 | M */
	__be32 id;
};

/* Walks extension headers to the upper-layer header. A fragment header
 * makes the packet a fragment; ESP, "no next header" and unknown headers
 * end the walk with that protocol (passed as not TCP/UDP). */
static __always_inline int parse_ipv6_ext(struct cursor *c, struct pkt *p, __u8 *next)
{
#pragma unroll
	for (int i = 0; i < FLB_MAX_EXT_HDRS; i++) {
		__u8 *h = c->pos;

		switch (*next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (!fits(c, h + 2))
				return FLB_R_BAD_IPV6;
			*next = h[0];
			c->pos += (h[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (!fits(c, h + 2))
				return FLB_R_BAD_IPV6;
			*next = h[0];
			c->pos += (h[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT: {
			struct ipv6_frag *f = c->pos;
			__u16 off;

			if (!fits(c, f + 1))
				return FLB_R_BAD_IPV6;
			*next = f->nexthdr;
			off = bpf_ntohs(f->frag_off);
			if (off & 0xfff9) { /* an offset, or M set */
				p->frag = (off & 0xfff8) ? FRAG_LATER : FRAG_FIRST;
				p->frag_id = f->id;
			}
			c->pos = f + 1;
			/* After a later fragment's header comes payload, not
			 * headers: the walk ends here. */
			if (p->frag == FRAG_LATER)
				return FLB_OK;
			break;
		}
		default:
			return FLB_OK;
		}
		if (!fits(c, c->pos))
			return FLB_R_BAD_IPV6;
	}
	return FLB_R_PASS_EXT_DEPTH;
}

static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u8 next;

	if ((void *)(ip6 + 1) > c->end || ip6->version != 6)
		return FLB_R_BAD_IPV6;
	/* In 32 bits: 40 + a payload length near 64 KiB would wrap the u16
	 * (no jumbograms here: RFC 2675 needs a hop-by-hop option we pass). */
	{
		__u32 len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);

		if (len > 0xffff || c->pos + len > c->end)
			return FLB_R_BAD_IPV6;
		p->ip_len = len;
	}
	c->limit = (__u32)((void *)ip6 - c->start) + p->ip_len;
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->flow.family = FLB_AF_INET6;
	__builtin_memcpy(p->flow.src, &ip6->saddr, 16);
	__builtin_memcpy(p->flow.dst, &ip6->daddr, 16);
	next = ip6->nexthdr;
	c->pos = ip6 + 1;
	{
		int r = parse_ipv6_ext(c, p, &next);

		p->flow.proto = next;
		return r;
	}
}

static __always_inline int parse_ports(struct cursor *c, struct pkt *p)
{
	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = c->pos;

		if (!fits(c, th + 1) || th->doff < 5)
			return FLB_R_BAD_L4;
		p->flow.sport = th->source;
		p->flow.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return FLB_OK;
	}
	if (p->flow.proto == IPPROTO_UDP) {
		struct udphdr *uh = c->pos;

		if (!fits(c, uh + 1))
			return FLB_R_BAD_L4;
		p->flow.sport = uh->source;
		p->flow.dport = uh->dest;
		return FLB_OK;
	}
	return FLB_R_PASS_L4_OTHER;
}

/* The ports of the packet an ICMP error quotes: its first 8 bytes. */
static __always_inline int quoted_ports(struct cursor *c, struct pkt *p, __u8 proto)
{
	__be16 *ports = c->pos;

	if (!fits(c, ports + 2))
		return FLB_R_BAD_L4;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return FLB_R_PASS_L4_OTHER;
	/* The quoted packet went from the VIP to the client: reverse it to
	 * get the flow as the client sends it. */
	p->flow.proto = proto;
	p->flow.sport = ports[1];
	p->flow.dport = ports[0];
	p->icmp = 1;
	return FLB_OK;
}

/* ICMP "destination unreachable" (incl. fragmentation needed), "time
 * exceeded" and "parameter problem" quoting a packet sent from a VIP. */
static __always_inline int parse_icmp4(struct cursor *c, struct pkt *p)
{
	struct icmp4hdr *ic = c->pos;
	struct iphdr *in;
	__be32 outer_dst = p->flow.dst[0];

	if (!fits(c, ic + 1))
		return FLB_R_BAD_L4;
	if (ic->type != ICMP_DEST_UNREACH && ic->type != ICMP_TIME_EXCEEDED &&
	    ic->type != ICMP_PARAMETERPROB)
		return FLB_R_PASS_L4_OTHER;
	in = (void *)(ic + 1);
	if (!fits(c, in + 1) || in->ihl < 5 || in->version != 4)
		return FLB_R_BAD_L4;
	/* Only errors about a packet from the address they are sent to. */
	if (in->saddr != outer_dst)
		return FLB_R_PASS_NOT_VIP;
	p->flow.src[0] = in->daddr;
	p->flow.dst[0] = in->saddr;
	c->pos = (void *)in + in->ihl * 4;
	return quoted_ports(c, p, in->protocol);
}

static __always_inline int parse_icmp6(struct cursor *c, struct pkt *p)
{
	struct icmp6hdr *ic = c->pos;
	struct ipv6hdr *in;

	if (!fits(c, ic + 1))
		return FLB_R_BAD_L4;
	if (ic->icmp6_type < ICMPV6_DEST_UNREACH || ic->icmp6_type > ICMPV6_PARAMPROB)
		return FLB_R_PASS_L4_OTHER;
	in = (void *)(ic + 1);
	if (!fits(c, in + 1))
		return FLB_R_BAD_L4;
	if (in->saddr.in6_u.u6_addr32[0] != p->flow.dst[0] ||
	    in->saddr.in6_u.u6_addr32[1] != p->flow.dst[1] ||
	    in->saddr.in6_u.u6_addr32[2] != p->flow.dst[2] ||
	    in->saddr.in6_u.u6_addr32[3] != p->flow.dst[3])
		return FLB_R_PASS_NOT_VIP;
	__builtin_memcpy(p->flow.src, &in->daddr, 16);
	__builtin_memcpy(p->flow.dst, &in->saddr, 16);
	c->pos = in + 1;
	return quoted_ports(c, p, in->nexthdr);
}

static __always_inline int parse_l4(struct cursor *c, struct pkt *p)
{
	if (p->frag == FRAG_LATER)
		return FLB_OK; /* no L4 header: steered by the datagram */
	if (p->flow.proto == IPPROTO_ICMP && p->flow.family == FLB_AF_INET)
		return parse_icmp4(c, p);
	if (p->flow.proto == IPPROTO_ICMPV6 && p->flow.family == FLB_AF_INET6)
		return parse_icmp6(c, p);
	return parse_ports(c, p);
}

/* The whole packet: Ethernet, IPv4 or IPv6, then TCP, UDP or the flow an
 * ICMP error quotes. FLB_OK, or the reason it is not balanced. */
static __always_inline int parse_packet(struct cursor *c, struct pkt *p)
{
	__be16 proto;
	int r;

	r = parse_eth(c, p, &proto);
	if (r != FLB_OK)
		return r;
	if (proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(c, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(c, p);
	else
		r = FLB_R_PASS_NOT_IP;
	if (r != FLB_OK)
		return r;
	return parse_l4(c, p);
}

#endif
