// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fluxlb balancer, attached at XDP on the node's NIC. For each packet:
 * parse, find its VIP, pick the backend (conntrack first, the VIP's Maglev
 * table for new flows and every TCP SYN), encapsulate in IPIP, and send it
 * to the next hop the kernel's FIB names. Anything that is not for a VIP is
 * passed to the stack unchanged. Every exit counts exactly one reason
 * (include/flb_reasons.h).
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_hash.h"
#include "flb_reasons.h"
#include "encap.h"
#include "maps.h"
#include "parse.h"

#define AF_INET 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct flb_vip *vip_find(const struct pkt *p, const struct flb_ctl *ctl)
{
	struct flb_vip_key key = {
		.addr = { p->flow.dst[0], p->flow.dst[1], p->flow.dst[2], p->flow.dst[3] },
		.port = p->flow.dport,
		.proto = p->flow.proto,
		.family = p->flow.family,
	};
	struct flb_vip *vip = bpf_map_lookup_elem(&flb_vips, &key);

	if (vip || !(ctl->flags & FLB_CTL_PORTLESS))
		return vip;
	key.port = 0;
	return bpf_map_lookup_elem(&flb_vips, &key);
}

/* The conntrack entry's backend, when it still is the backend the entry was
 * made for (same generation) and still takes existing flows. */
static __always_inline __u32 ct_backend(struct flb_ct *ct, struct flb_backend **be)
{
	__u32 id = ct->backend;

	*be = bpf_map_lookup_elem(&flb_backends, &id);
	if (!*be || (*be)->gen != ct->gen || (*be)->state == FLB_BE_UNUSED)
		return 0;
	return id;
}

/* Slot hash % M of the VIP's current table; 0 when it has no backend. */
static __always_inline __u32 maglev_backend(const struct flb_vip *vip, __u32 hash)
{
	__u32 zero = 0, slot, m, *id, *mp;
	void *table;

	table = bpf_map_lookup_elem(&flb_rings, &vip->id);
	if (!table)
		return 0;
	mp = bpf_map_lookup_elem(table, &zero);
	if (!mp || !(m = *mp))
		return 0;
	slot = hash % m + 1;
	id = bpf_map_lookup_elem(table, &slot);
	return id ? *id : 0;
}

/* Picks the backend and keeps conntrack in step. Returns the backend id
 * (0: none) and whether this packet made a new entry. */
static __always_inline __u32 pick_backend(const struct pkt *p, const struct flb_vip *vip,
					  __u32 hash, struct flb_backend **be, bool *new_flow)
{
	bool syn = p->flow.proto == IPPROTO_TCP &&
		   (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	__u64 now = bpf_ktime_get_ns();
	struct flb_ct *ct, fresh = {};
	__u32 id;

	*new_flow = false;
	if (syn) {
		count_event(FLB_E_SYN_LOOKUP);
	} else {
		ct = bpf_map_lookup_elem(&flb_conntrack, &p->flow);
		if (ct) {
			id = ct_backend(ct, be);
			if (id) {
				count_event(FLB_E_CT_HIT);
				ct->last_seen = now;
				return id;
			}
			count_event(FLB_E_CT_STALE);
		} else {
			count_event(FLB_E_CT_MISS);
		}
	}

	id = maglev_backend(vip, hash);
	if (!id)
		return 0;
	*be = bpf_map_lookup_elem(&flb_backends, &id);
	if (!*be || (*be)->state != FLB_BE_ACTIVE)
		return 0;

	fresh.backend = id;
	fresh.gen = (*be)->gen;
	fresh.last_seen = now;
	if (!bpf_map_update_elem(&flb_conntrack, &p->flow, &fresh, BPF_ANY)) {
		count_event(FLB_E_CT_INSERT);
		*new_flow = true;
	}
	return id;
}

/* Next hop for the encapsulated packet. SUCCESS: rewrite MACs and TX or
 * redirect. NO_NEIGH: the kernel forwards it and resolves the neighbour on
 * the way. Anything else: no way to the backend. */
static __always_inline int send(struct xdp_md *ctx, __be32 saddr, __be32 daddr, __u8 tos,
				__u16 len)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.tos = tos,
		.l4_protocol = IPPROTO_IPIP,
		.tot_len = len,
		.ipv4_src = saddr,
		.ipv4_dst = daddr,
		.ifindex = ctx->ingress_ifindex,
	};
	struct ethhdr *eth = data;
	int rc;

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return count_reason(FLB_R_PASS_NO_NEIGH, XDP_PASS);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return count_reason(FLB_R_DROP_NO_ROUTE, XDP_DROP);
	if ((void *)(eth + 1) > end)
		return count_reason(FLB_R_DROP_ENCAP, XDP_DROP);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	if (fib.ifindex == ctx->ingress_ifindex)
		return count_reason(FLB_R_FWD_TX, XDP_TX);
	count_reason(FLB_R_FWD_REDIRECT, 0);
	return bpf_redirect(fib.ifindex, 0);
}

SEC("xdp")
int balancer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data, .end = end };
	__u32 key = 0, hash, id, bytes = end - data;
	struct flb_backend *be = NULL;
	struct flb_vip *vip;
	struct flb_ctl *ctl;
	struct pkt p = {};
	__be16 proto;
	__be32 saddr;
	bool new_flow;
	int r;

	ctl = bpf_map_lookup_elem(&flb_ctl, &key);
	if (!ctl || !ctl->ready)
		return count_reason(FLB_R_PASS_NOT_READY, XDP_PASS);

	r = parse_eth(&c, &proto);
	if (r != FLB_OK)
		return count_reason(r, XDP_PASS);
	if (proto == bpf_htons(ETH_P_IPV6))
		return count_reason(FLB_R_PASS_IPV6, XDP_PASS);
	if (proto != bpf_htons(ETH_P_IP))
		return count_reason(FLB_R_PASS_NOT_IP, XDP_PASS);
	r = parse_ipv4(&c, &p, data);
	if (r != FLB_OK)
		return count_reason(r, XDP_PASS);
	r = parse_l4(&c, &p);
	if (r != FLB_OK)
		return count_reason(r, XDP_PASS);

	vip = vip_find(&p, ctl);
	if (!vip)
		return count_reason(FLB_R_PASS_NOT_VIP, XDP_PASS);

	hash = flb_flow_hash(&p.flow);
	id = pick_backend(&p, vip, hash, &be, &new_flow);
	if (!id || !be)
		return count_reason(FLB_R_DROP_NO_BACKEND, XDP_DROP);
	count_traffic(&flb_vip_stats, vip->id, bytes, new_flow);
	count_traffic(&flb_be_stats, id, bytes, new_flow);

	saddr = (ctl->encap_src4 & bpf_htonl(0xffff0000)) | bpf_htonl(hash & 0xffff);
	if (encap_ipip(ctx, &p, saddr, be->addr[0]))
		return count_reason(FLB_R_DROP_ENCAP, XDP_DROP);
	return send(ctx, saddr, be->addr[0], p.tos, p.ip_len + sizeof(struct iphdr));
}
