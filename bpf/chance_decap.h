/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Second chance, the backend's side (docs/bgp.md "Second chance"): an IPv4
 * tunnel packet to this host whose outer header names a secondary backend
 * (bpf/chance_encap.h). If this host has a socket of the inner flow
 * (established, time-wait or mid-handshake: bpf_skc_lookup_tcp() in the
 * NIC's network namespace), or the packet is a SYN (a new connection
 * belongs here), it is delivered as any tunnel packet. Otherwise the
 * connection lives on the secondary: the packet is re-encapsulated there as
 * plain IPIP (so it cannot bounce again) from this host's address and sent
 * with the FIB's next hop; a host that does not forward (the FIB answers
 * "forwarding disabled") sends it back to the hop it came from, which
 * routes it. Included by bpf/decap.bpf.c after strip(); every branch
 * counts its own reason (include/flb_reasons.h).
 *
 * Packets for local pods (bpf/nat.h) are translated before this check and
 * are not covered: see docs/bgp.md.
 */
#ifndef FLB_CHANCE_DECAP_H
#define FLB_CHANCE_DECAP_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "flb_abi.h"
#include "flb_reasons.h"

#define CHANCE_AF_INET 2
#define CHANCE_TTL 64
#define CHANCE_OPT_OFF 20 /* the option follows the 20-byte outer header */

/* An outer header of IHL 7 whose option names a secondary. */
static __always_inline bool chance_marked(const struct iphdr *ip, __u32 hlen, void *end)
{
	const __u8 *opt = (const __u8 *)ip + CHANCE_OPT_OFF;

	return hlen == CHANCE_OPT_OFF + FLB_CHANCE_OPT_LEN && (void *)(opt + 8) <= end &&
	       opt[0] == FLB_CHANCE_OPT && opt[1] == FLB_CHANCE_OPT_LEN;
}

/* Whether this host holds the inner TCP flow: a socket that is not a
 * listener. */
static __always_inline bool chance_has_socket(struct xdp_md *ctx, const struct iphdr *inner,
					      const struct tcphdr *tcp)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	bool mine;

	t.ipv4.saddr = inner->saddr;
	t.ipv4.daddr = inner->daddr;
	t.ipv4.sport = tcp->source;
	t.ipv4.dport = tcp->dest;
	sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	mine = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return mine;
}

/*
 * The packet re-encapsulated toward sec as plain IPIP and sent: the 8-byte
 * option goes, the new header is written over the old one's last 20 bytes
 * and the MACs before it. Returns the XDP action (its reason counted).
 */
static __always_inline int chance_forward(struct xdp_md *ctx, struct ethhdr *eth,
					  struct iphdr *ip, __be32 sec)
{
	__u32 in_if = ctx->ingress_ifindex;
	struct bpf_fib_lookup fib = {
		.family = CHANCE_AF_INET,
		.l4_protocol = IPPROTO_IPIP,
		.ifindex = in_if,
		.ipv4_src = ip->daddr,
		.ipv4_dst = sec,
	};
	__u16 w0, w1, w4, tot = bpf_ntohs(ip->tot_len) - FLB_CHANCE_OPT_LEN;
	__be32 saddr = ip->daddr;
	__be16 id = ip->id, df = ip->frag_off & bpf_htons(0x4000);
	__u8 mac[2 * ETH_ALEN];
	__u32 reason = FLB_R_DECAP_CHANCE_FWD, ifindex;
	struct ethhdr *neth;
	struct iphdr *nip;
	int rc;

	fib.tos = ip->tos;
	fib.tot_len = tot;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__builtin_memcpy(mac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(mac + ETH_ALEN, fib.smac, ETH_ALEN);
		ifindex = fib.ifindex;
	} else if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED) {
		/* Back to the hop it came from (a router, or the balancer's
		 * node), which routes it. */
		__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
		__builtin_memcpy(mac + ETH_ALEN, eth->h_dest, ETH_ALEN);
		ifindex = in_if;
		reason = FLB_R_DECAP_CHANCE_BACK;
	} else if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* Up the stack as received (our MAC): the kernel resolves
		 * the next hop and forwards it. */
		__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(mac + ETH_ALEN, eth->h_source, ETH_ALEN);
		ifindex = in_if;
		reason = FLB_R_DECAP_CHANCE_PASS;
	} else {
		return -1; /* no route to the secondary: delivered here */
	}
	w0 = bpf_htons(0x4500 | ip->tos);
	w1 = bpf_htons(tot);
	w4 = bpf_htons((CHANCE_TTL << 8) | IPPROTO_IPIP);
	nip = (void *)ip + FLB_CHANCE_OPT_LEN;
	neth = (void *)eth + FLB_CHANCE_OPT_LEN;
	*(__u16 *)nip = w0;
	nip->tot_len = w1;
	nip->id = id;
	nip->frag_off = df;
	*(__u16 *)&nip->ttl = w4;
	nip->saddr = saddr;
	nip->daddr = sec;
	nip->check = csum_fold64((__u64)w0 + w1 + id + df + w4 + saddr + sec);
	__builtin_memcpy(neth->h_dest, mac, ETH_ALEN);
	__builtin_memcpy(neth->h_source, mac + ETH_ALEN, ETH_ALEN);
	neth->h_proto = bpf_htons(ETH_P_IP);
	if (bpf_xdp_adjust_head(ctx, FLB_CHANCE_OPT_LEN))
		return count_reason(FLB_R_DECAP_BAD, XDP_DROP);
	if (reason == FLB_R_DECAP_CHANCE_PASS)
		return count_reason(reason, XDP_PASS);
	count_reason(reason, 0);
	if (ifindex == in_if)
		return XDP_TX;
	/* Never negative, so that the caller knows the packet is gone. */
	return bpf_redirect(ifindex, 0) == XDP_REDIRECT ? XDP_REDIRECT : XDP_ABORTED;
}

/* decap()'s hook for a packet chance_marked() accepted: delivered here
 * (strip) or forwarded to the secondary. */
static __always_inline int chance_decap(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip,
					struct iphdr *inner, void *end)
{
	__be32 sec = *(__be32 *)((void *)ip + CHANCE_OPT_OFF + 4);
	__u32 hlen = CHANCE_OPT_OFF + FLB_CHANCE_OPT_LEN;
	struct tcphdr *tcp = (void *)inner + inner->ihl * 4;
	int v;

	if (inner->protocol != IPPROTO_TCP)
		return strip(ctx, eth, inner, hlen, bpf_htons(ETH_P_IP), FLB_R_DECAP_CHANCE_SYN);
	if ((void *)(tcp + 1) > end)
		return strip(ctx, eth, inner, hlen, bpf_htons(ETH_P_IP), FLB_R_DECAP_CHANCE_LOST);
	if (tcp->syn && !tcp->ack)
		return strip(ctx, eth, inner, hlen, bpf_htons(ETH_P_IP), FLB_R_DECAP_CHANCE_SYN);
	if (chance_has_socket(ctx, inner, tcp))
		return strip(ctx, eth, inner, hlen, bpf_htons(ETH_P_IP), FLB_R_DECAP_CHANCE_SOCK);
	v = sec ? chance_forward(ctx, eth, ip, sec) : -1;
	if (v >= 0)
		return v;
	return strip(ctx, eth, inner, hlen, bpf_htons(ETH_P_IP), FLB_R_DECAP_CHANCE_LOST);
}

#endif
