/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Second chance on the wire (docs/bgp.md "Second chance"): IPv4 in IPv4 as
 * encap.h writes it, with one 8-byte option in the outer header (IHL 7)
 * naming the secondary backend: type FLB_CHANCE_OPT, length 8, version,
 * zero, the secondary's IPv4 address (include/flb_abi.h). Only packets
 * bpf/chance.h marks carry it; every other packet stays plain
 * Katran-compatible IPIP. A decapsulator without second chance (or the
 * kernel's ipip) strips IHL * 4 bytes and delivers the packet as before.
 * Included by encap.h after grow_head().
 */
#ifndef FLB_CHANCE_ENCAP_H
#define FLB_CHANCE_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>

#include "csum.h"
#include "flb_abi.h"
#include "parse.h"

/* Marks the per-CPU copy of the current backend (bpf/chance.h) that
 * carries a secondary in addr[1] (unused for IPv4): encapsulate() reads
 * it. Userspace writes flb_backend.pad as 0. */
#define FLB_CHANCE_MARK 0xc4a7

#define FLB_CHANCE_HLEN (IPV4_HLEN + FLB_CHANCE_OPT_LEN)

/* The outer header toward daddr with secondary sec; 0 or -1. */
static __always_inline int chance_encap(struct xdp_md *ctx, const struct pkt *p, __be32 daddr,
					__be32 sec, __be32 saddr)
{
	struct iphdr *ip = grow_head(ctx, p->l3_off, FLB_CHANCE_HLEN, bpf_htons(ETH_P_IP));
	__u16 w0, w1, w4, o0, o1;
	__be32 *opt;
	__be16 df;
	__u64 sum;

	if (!ip || (void *)ip + FLB_CHANCE_HLEN > (void *)(long)ctx->data_end)
		return -1;
	w0 = bpf_htons(0x4700 | p->tos);              /* version 4, IHL 7, TOS */
	w1 = bpf_htons(p->ip_len + FLB_CHANCE_HLEN);
	w4 = bpf_htons((FLB_TTL << 8) | IPPROTO_IPIP);
	o0 = bpf_htons(FLB_CHANCE_OPT << 8 | FLB_CHANCE_OPT_LEN);
	o1 = bpf_htons(FLB_CHANCE_OPT_VER << 8);
	df = p->frag_off & bpf_htons(IP_DF);
	sum = (__u64)w0 + w1 + p->ip_id + df + w4 + saddr + daddr + o0 + o1 + sec;
	*(__u16 *)ip = w0;
	ip->tot_len = w1;
	ip->id = p->ip_id;
	ip->frag_off = df;
	*(__u16 *)&ip->ttl = w4;
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->check = csum_fold64(sum);
	opt = (__be32 *)(ip + 1);
	((__u16 *)opt)[0] = o0;
	((__u16 *)opt)[1] = o1;
	opt[1] = sec;
	return 0;
}

#endif
