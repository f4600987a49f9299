// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fluxlb balancer, attached at XDP on the node's NIC. For each packet:
 * parse, find its VIP, pick the backend (fragments follow their datagram,
 * then conntrack, then the VIP's Maglev table for new flows and every TCP
 * SYN), look up the next hop, encapsulate and send. ICMP errors about a VIP
 * flow go to that flow's backend; a packet too big once encapsulated gets a
 * "too big" reply. Anything that is not for a VIP passes unchanged. Every
 * exit counts exactly one reason (include/flb_reasons.h).
 *
 * balancer() is only that order; each step is a helper in bpf/: parse.h,
 * pick.h (VIP, fragments, conntrack, Maglev; flood.h: SYNs without an
 * entry under a SYN flood), nexthop.h (FIB and send),
 * icmp.h (too big), encap.h; the maps and counters in maps.h and count.h;
 * tail.h: the node role's decap when both roles share the NIC.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_hash.h"
#include "flb_reasons.h"
#include "encap.h"
#include "flood.h"
#include "icmp.h"
#include "maps.h"
#include "nexthop.h"
#include "parse.h"
#include "pick.h"
#include "tail.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int balancer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data, .end = end, .start = data, .limit = 0xffff };
	__u32 key = 0, hash, id, vip_id, bytes = end - data;
	struct flb_backend *be;
	bool new_flow = false;
	struct flb_ctl *ctl;
	struct pkt p = {};
	struct hop hop;
	__u64 now;
	int r, rc;

	ctl = bpf_map_lookup_elem(&flb_ctl, &key);
	if (!ctl || !ctl->ready)
		return count_reason(FLB_R_PASS_NOT_READY, XDP_PASS);

	r = parse_packet(&c, &p);
	if (r != FLB_OK)
		return not_balanced(ctx, &p, r);

	vip_id = vip_find(&p, ctl);
	if (vip_id >= FLB_MAX_VIPS)
		return count_reason(FLB_R_PASS_NOT_VIP, XDP_PASS);

	now = bpf_ktime_get_coarse_ns(); /* the one clock read: conntrack and next hop */
	if (prefix_over(&p, now)) /* bpf/flood.h: node.flood.prefix */
		return count_reason(FLB_R_DROP_PREFIX, XDP_DROP);
	be = pick_backend(&p, vip_id, now, ctl, &id, &hash, &new_flow);
	if (!be)
		return count_reason(FLB_R_DROP_NO_BACKEND, XDP_DROP);

	count_traffic(&flb_vip_stats, vip_id, bytes, new_flow);
	count_traffic(&flb_be_stats, id, bytes, new_flow);

	rc = next_hop(ctx, &p, id, be, ctl, hash, now, &hop);
	/* Over the MTU once encapsulated: a reply, a drop, or IPv4 without DF
	 * going on to the kernel to be fragmented. */
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		r = too_big(ctx, &p, bytes, be, hop.mtu);
		if (r != FLB_R_PASS_BIG_NO_DF)
			return count_reason(r, r == FLB_R_TX_ICMP_TOO_BIG ? XDP_TX : XDP_DROP);
	} else if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		return count_reason(FLB_R_DROP_NO_ROUTE, XDP_DROP);
	}

	if (encapsulate(ctx, &p, be, hop.src, hash))
		return count_reason(FLB_R_DROP_ENCAP, XDP_DROP);
	to_local(ctx, &hop, rc);
	return send_frame(ctx, &hop, rc);
}
